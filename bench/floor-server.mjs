// The FLOOR: the least a verify endpoint can do. 200 + the five identity headers when a cookie is
// present, 401 otherwise; an empty body with Content-Length: 0 (so nginx keeps the connection alive);
// no store lookup, no parsing. Usage: node bench/floor-server.mjs PORT
import http from 'node:http';

const port = Number(process.argv[2]);
const ALLOW = {
  'Content-Length': '0',
  'Cache-Control': 'no-store',
  'Remote-User': 'bench',
  'Remote-Role': 'user',
  'Remote-Groups': 'family',
  'Remote-Email': 'bench@example.com',
  'Remote-Name': 'Bench User',
};
const DENY = { 'Content-Length': '0', 'Cache-Control': 'no-store' };

const server = http.createServer((req, res) => {
  if (req.url !== '/verify/nginx') {
    res.writeHead(404, DENY).end();
    return;
  }
  res.writeHead(req.headers.cookie ? 200 : 401, req.headers.cookie ? ALLOW : DENY).end();
});
// Same keep-alive settings as Postern's main.ts, so the proxy treats both alike.
server.keepAliveTimeout = 75_000;
server.headersTimeout = 10_000;
server.listen(port, '127.0.0.1');
process.on('SIGTERM', () => {
  server.close();
  server.closeAllConnections();
});
process.on('SIGINT', () => {
  server.close();
  server.closeAllConnections();
});
