import { CADDY_BIN, startCaddy } from '../support/caddy.js';
import { readExample, substitute } from '../support/examples.js';
import { describeProxyFlows } from '../support/proxy-flows.js';

describeProxyFlows(`Caddy (${CADDY_BIN})`, {
  posternYml: 'caddy/postern.yml',
  async start(ports) {
    const caddy = await startCaddy(substitute(readExample('caddy/Caddyfile'), ports), ports.proxy);
    return { stop: () => caddy.stop() };
  },
  anonymousPostStatus: 303,
  posternDownStatus: 502,
  stripsSessionCookie: true,
  throttledTokenStatus: 429,
});
