/** `npm run bench`: every benchmark of the project, one after the other, in one process. */
await import("./crypto.js")
