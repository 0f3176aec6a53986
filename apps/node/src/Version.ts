/** The daemon's version, as `--version` and `GET /status` report it; kept equal to package.json's (a test checks). */
export const VERSION = "0.1.0"
