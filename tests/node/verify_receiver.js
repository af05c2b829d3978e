#!/usr/bin/env node
// A webhook receiver that verifies every request with the reference
// Standard Webhooks library, as real receivers do.  One JSON line per request:
// {"id", "verified": bool, "error", "type"}.  Usage:
//   node verify_receiver.js PORT_FILE OUT_FILE SECRET
'use strict';
const fs = require('fs');
const http = require('http');
const { Webhook } = require('standardwebhooks');

const [portFile, outFile, secret] = process.argv.slice(2);
if (!secret) {
  console.error('usage: verify_receiver.js PORT_FILE OUT_FILE SECRET');
  process.exit(2);
}
const wh = new Webhook(secret);
const out = fs.openSync(outFile, 'a');

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks).toString('utf8');
    const line = { id: req.headers['webhook-id'] || null, verified: false };
    try {
      const payload = wh.verify(body, req.headers);
      line.verified = true;
      line.type = payload.type;
    } catch (e) {
      line.error = String(e.message || e);
    }
    fs.writeSync(out, JSON.stringify(line) + '\n');
    res.writeHead(line.verified ? 204 : 401);
    res.end();
  });
});
server.listen(0, '127.0.0.1', () => {
  fs.writeFileSync(portFile + '.tmp', String(server.address().port));
  fs.renameSync(portFile + '.tmp', portFile);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
