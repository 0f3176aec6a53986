export * as DaemonProcess from "./DaemonProcess.ts"
