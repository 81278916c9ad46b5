import { startTestPlatform, postGraphQL } from './test/harness.ts';
const p = await startTestPlatform();
const r = await postGraphQL(p.gateway.url, '{ viewer { kind } }', {
  headers: { authorization: 'Bearer nope' },
});
console.log(r.status, r.text, [...r.headers]);
const r2 = await postGraphQL(p.gateway.url, '{ explode refuse }');
console.log(r2.status, r2.text);
const r3 = await fetch(p.gateway.url, {
  headers: { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' },
});
console.log(r3.status, [...r3.headers], (await r3.text()).slice(0, 2000));
await p.close();
