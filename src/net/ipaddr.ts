/**
 * ipaddr.js, the one way Postern's modules load it: required, not imported. Importing a CommonJS
 * package into an ES module makes Node 20 first scan its source for export names
 * (cjs-module-lexer), and for ipaddr.js's 30 KB that scan cost about 20 ms of every start, a CLI
 * command's included (`npm run bench` P13); `require` runs it without the scan. TypeScript emits
 * `import x = require()` as a createRequire call, and keeps ipaddr.js's types (`ipaddr.IPv4`).
 */
import ipaddr = require('ipaddr.js');

export default ipaddr;
