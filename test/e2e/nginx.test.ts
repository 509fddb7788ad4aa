import { NGINX_BIN, startNginx } from '../support/nginx.js';
import { readExampleTree } from '../support/examples.js';
import { describeProxyFlows } from '../support/proxy-flows.js';

describeProxyFlows(`nginx (${NGINX_BIN})`, {
  posternYml: 'nginx/postern.yml',
  async start(ports) {
    const files = readExampleTree('nginx', ports);
    const nginx = await startNginx('include postern.conf;', ports.proxy, files);
    return { stop: () => nginx.stop() };
  },
  anonymousPostStatus: 302,
  posternDownStatus: 500,
  stripsSessionCookie: true,
  throttledTokenStatus: 401,
});
