#!/usr/bin/env node
// An HTTPS webhook receiver with a certificate nobody trusts (self-signed),
// for tests/e2e/receiver_bad_tls.sh.  It logs, one JSON line each, every TLS
// handshake that fails ({"event":"tls_error"}), every one that succeeds
// ({"event":"secure_connection"}) and every request that arrives anyway
// ({"event":"request", "body_bytes"}): a sender that verifies certificates
// produces only the first kind.
//   node tls_receiver.js KEY_PEM CERT_PEM PORT_FILE LOG_FILE
'use strict';
const fs = require('fs');
const https = require('https');

const [keyFile, certFile, portFile, logFile] = process.argv.slice(2);
if (!logFile) {
  console.error('usage: tls_receiver.js KEY_PEM CERT_PEM PORT_FILE LOG_FILE');
  process.exit(2);
}
const out = fs.openSync(logFile, 'a');
const log = (line) => fs.writeSync(out, JSON.stringify(line) + '\n');

const server = https.createServer(
  { key: fs.readFileSync(keyFile), cert: fs.readFileSync(certFile) },
  (req, res) => {
    let bytes = 0;
    req.on('data', (c) => { bytes += c.length; });
    req.on('end', () => {
      log({ event: 'request', method: req.method, url: req.url, body_bytes: bytes });
      res.writeHead(204);
      res.end();
    });
  });
server.on('tlsClientError', (err) => log({ event: 'tls_error', error: String(err.code || err.message) }));
server.on('secureConnection', () => log({ event: 'secure_connection' }));
server.listen(0, '127.0.0.1', () => {
  fs.writeFileSync(portFile + '.tmp', String(server.address().port));
  fs.renameSync(portFile + '.tmp', portFile);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
