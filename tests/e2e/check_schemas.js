#!/usr/bin/env node
// Validates every webhook body a probehook-receiver recorded (one JSON line per
// request, the parsed body under "body") against docs/schemas/<type>.json, with
// ajv and ajv-formats (date-time) from tests/node.  Prints counts per type and
// each failure; exits 1 on any invalid body, any body whose type has no schema,
// no body at all, or (with --require-all) a catalog type's schema no body
// exercised.
//   node check_schemas.js RECEIVED.jsonl SCHEMA_DIR [--require-all]
'use strict';
const fs = require('fs');
const path = require('path');
const { createRequire } = require('module');

// The packages live in tests/node, not on this script's resolution path.
const nodeRequire = createRequire(path.join(__dirname, '..', 'node', 'package.json'));
const Ajv = nodeRequire('ajv');
const addFormats = nodeRequire('ajv-formats');

function loadValidators(dir) {
  const ajv = new Ajv({ allErrors: true }); // strict mode: a sloppy schema is an error too
  addFormats(ajv);
  const validators = new Map();
  for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.json')).sort()) {
    const schema = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8'));
    validators.set(path.basename(file, '.json'), ajv.compile(schema));
  }
  return validators;
}

function main(argv) {
  const [received, schemaDir] = argv.filter((a) => !a.startsWith('--'));
  const requireAll = argv.includes('--require-all');
  if (!received || !schemaDir) {
    console.error('usage: check_schemas.js RECEIVED.jsonl SCHEMA_DIR [--require-all]');
    return 2;
  }
  const validators = loadValidators(schemaDir);
  const counts = new Map([...validators.keys()].map((t) => [t, { valid: 0, invalid: 0 }]));
  const problems = [];
  const lines = fs.readFileSync(received, 'utf8').split('\n').filter((l) => l.trim());
  lines.forEach((line, i) => {
    const body = JSON.parse(line).body;
    const type = body && typeof body === 'object' ? body.type : undefined;
    const validate = validators.get(type);
    if (!validate) {
      problems.push(`request ${i}: no schema for type ${JSON.stringify(type)}`);
      return;
    }
    if (validate(body)) {
      counts.get(type).valid++;
    } else {
      counts.get(type).invalid++;
      const why = validate.errors.map((e) => `${e.instancePath || '/'} ${e.message}`).join('; ');
      problems.push(`request ${i} (${type}): ${why}`);
    }
  });
  if (lines.length === 0) problems.push(`${received}: no requests to check`);
  for (const [type, c] of counts) {
    console.log(`${type}: ${c.valid} valid, ${c.invalid} invalid`);
    // --require-all means the catalog's types; probehook.* are the collector's own
    if (requireAll && !type.startsWith('probehook.') && c.valid + c.invalid === 0)
      problems.push(`${type}: no event checked`);
  }
  problems.slice(0, 30).forEach((p) => console.error(`problem: ${p}`));
  console.log(`check_schemas: ${lines.length} bodies, ${validators.size} schemas, ${problems.length} problems`);
  return problems.length ? 1 : 0;
}

process.exitCode = main(process.argv.slice(2));
