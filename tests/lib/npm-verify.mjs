// Verify compact JWS files with the npm `jose` package (an implementation
// independent of fedtrust, with Ed25519):
//   node npm-verify.mjs KEYS.json TYP FILE [TYP FILE]...
// Prints "OK FILE" or "FAIL FILE: reason" per token; exit 0 only if all pass.
import { readFileSync } from 'node:fs';
import * as jose from 'jose';

const [keysFile, ...rest] = process.argv.slice(2);
const keys = JSON.parse(readFileSync(keysFile, 'utf8')).keys;
let bad = 0;
for (let i = 0; i + 1 < rest.length; i += 2) {
	const typ = rest[i], file = rest[i + 1];
	const token = readFileSync(file, 'utf8').trim();
	const header = jose.decodeProtectedHeader(token);
	const jwk = keys.find((k) => k.kid === header.kid);
	try {
		if (!jwk)
			throw new Error(`no key with kid ${header.kid} in ${keysFile}`);
		const key = await jose.importJWK(jwk, jwk.alg);
		const { protectedHeader } = await jose.compactVerify(token, key, { algorithms: [jwk.alg] });
		if (protectedHeader.typ !== typ)
			throw new Error(`typ ${protectedHeader.typ}, expected ${typ}`);
		console.log(`OK ${file} (${protectedHeader.alg})`);
	} catch (e) {
		console.log(`FAIL ${file}: ${e.message}`);
		bad++;
	}
}
process.exit(bad ? 1 : 0);
