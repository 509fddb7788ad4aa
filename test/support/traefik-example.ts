import { parse } from 'yaml';
import type { EntryPointConfig, ForwardAuthConfig, HeadersMiddlewareConfig, MiddlewareConfig, RoutedConfig, RouterConfig, UnderscoreHeadersStrategy } from './traefik-double.js';

interface StaticConfig {
  entryPoints: Record<string, { address: string; forwardedHeaders?: { trustedIPs?: string[]; insecure?: boolean }; http?: { underscoreHeadersStrategy?: UnderscoreHeadersStrategy; sanitizePath?: boolean } }>;
}

interface DynamicConfig {
  http: {
    middlewares: Record<string, { forwardAuth?: ForwardAuthConfig; headers?: HeadersMiddlewareConfig }>;
    routers: Record<string, { rule: string; entryPoints?: string[]; middlewares?: string[]; service: string }>;
    services: Record<string, { loadBalancer: { servers: Array<{ url: string }> } }>;
  };
}

/**
 * The one Go-template action the examples use in a file-provider file, `{{ env "NAME" }}` (Sprig's
 * env: the variable's value, '' when unset), filled in as Traefik does when it loads the file.
 */
export function renderFileProviderTemplate(text: string, env: Readonly<Record<string, string>>): string {
  const out = text.replace(/\{\{\s*env\s+"([A-Za-z_][A-Za-z0-9_]*)"\s*\}\}/g, (_, name: string) => env[name] ?? '');
  if (out.includes('{{')) throw new Error('the test loader understands only {{ env "NAME" }} in a Traefik file-provider file');
  return out;
}

/**
 * Reads the example's static and dynamic Traefik files (already address-substituted) into the
 * double's routed config: a thin mapping, with Traefik's own option names passed through as they are.
 */
export function traefikConfigFromExample(staticYml: string, dynamicYml: string, entryPoint = 'web', env: Readonly<Record<string, string>> = {}): RoutedConfig {
  const stat = parse(staticYml) as StaticConfig;
  const dyn = parse(renderFileProviderTemplate(dynamicYml, env)) as DynamicConfig;
  const ep = stat.entryPoints[entryPoint];
  if (!ep) throw new Error(`the static config has no entry point '${entryPoint}'`);
  const entry: EntryPointConfig = {
    trustedCidrs: ep.forwardedHeaders?.trustedIPs ?? [],
    insecure: ep.forwardedHeaders?.insecure,
    underscoreHeaders: ep.http?.underscoreHeadersStrategy,
    sanitizePath: ep.http?.sanitizePath,
  };
  const routers: RouterConfig[] = Object.entries(dyn.http.routers).map(([name, r]) => {
    const host = /^Host\(`([^`]+)`\)$/.exec(r.rule)?.[1];
    if (!host) throw new Error(`router ${name}: only Host(\`…\`) rules are understood by the test loader, got ${r.rule}`);
    const service = dyn.http.services[r.service]?.loadBalancer.servers[0]?.url;
    if (!service) throw new Error(`router ${name}: service ${r.service} has no server URL`);
    return {
      name,
      rule: { host },
      service,
      middlewares: (r.middlewares ?? []).map((m): MiddlewareConfig => {
        const mw = dyn.http.middlewares[m];
        if (mw?.forwardAuth) return { name: m, forwardAuth: mw.forwardAuth };
        if (mw?.headers) return { name: m, headers: mw.headers };
        throw new Error(`router ${name}: middleware ${m} is not defined, or is neither forwardAuth nor headers`);
      }),
    };
  });
  return { entry, routers };
}
