// One system, one round, in a fresh process (so no run inherits another's warm caches, timers or
// pools): `run-one.ts <json context>`; prints `RESULT <json>` on its last line.
import { PEER_SYSTEMS, type PeerContext } from './systems.js';

const [id, contextJson] = process.argv.slice(2);
const system = PEER_SYSTEMS.find((s) => s.id === id);
if (!system || !contextJson) {
  console.error(`usage: run-one.ts <${PEER_SYSTEMS.map((s) => s.id).join('|')}> <context json>`);
  process.exit(2);
}
try {
  const result = await system.run(JSON.parse(contextJson) as PeerContext);
  console.log(`RESULT ${JSON.stringify(result)}`);
  // Libraries may keep timers or sockets a moment after closing; the result is out.
  process.exit(0);
} catch (err) {
  console.error(`${id} failed:`, err);
  process.exit(1);
}
