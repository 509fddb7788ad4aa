/**
 * Where verify sends a visitor who must sign in: `<public_url>/login?rd=<the original URL>`.
 *
 * When Postern itself is served over https (`public_url` is https), an `http://` destination would
 * be refused after sign-in (validateRedirect allows http only when public_url is http) and the
 * visitor would land on the home page instead of the app. So the destination is upgraded to its
 * https form here: same host (the default port `:80` dropped, any other port kept), same path and
 * query. Signing in over https and going back to plain http would also send the new session cookie
 * nowhere: it is `Secure`.
 */
export function signInLocation(loginUrl: string, original: { readonly proto: 'http' | 'https'; readonly host: string; readonly uri: string }): string {
  const upgrade = original.proto === 'http' && loginUrl.startsWith('https:');
  const rd = upgrade ? `https://${original.host.endsWith(':80') ? original.host.slice(0, -3) : original.host}${original.uri}` : `${original.proto}://${original.host}${original.uri}`;
  return `${loginUrl}?rd=${encodeURIComponent(rd)}`;
}
