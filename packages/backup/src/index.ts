/**
 * @dave/backup: the crash-safe append log of accepted entries (file format in Format.ts and README.md).
 */
export * as Backup from "./Backup.ts"
export * from "./BackupError.ts"
export * as BackupMetrics from "./BackupMetrics.ts"
export * as Format from "./Format.ts"
export { MAX_CORRUPT_OFFSETS, type RestoreReport, readBackup, readBackupEntries } from "./ReadBackup.ts"
export type { TornTail } from "./Scanner.ts"
