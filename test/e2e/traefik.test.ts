import { readExample, substitute } from '../support/examples.js';
import { describeProxyFlows } from '../support/proxy-flows.js';
import { startTraefikDouble } from '../support/traefik-double.js';
import { traefikConfigFromExample } from '../support/traefik-example.js';

describeProxyFlows('Traefik forwardAuth (test double per proxy-contracts.md §2.6)', {
  posternYml: 'traefik/postern.yml',
  async start(ports) {
    const config = traefikConfigFromExample(substitute(readExample('traefik/traefik.yml'), ports), substitute(readExample('traefik/dynamic.yml'), ports));
    const traefik = await startTraefikDouble(config, { port: ports.proxy });
    return { stop: () => traefik.close() };
  },
  anonymousPostStatus: 303,
  posternDownStatus: 500,
  stripsSessionCookie: false,
  throttledTokenStatus: 429,
});
