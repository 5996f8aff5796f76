/**
 * Security headers of the web UI's replies. The page runs only the
 * daemon's own bundled script and style sheet: no inline script or style
 * (the CSP has no 'unsafe-inline'), no other origin, no framing.
 */

/** The UI's Content-Security-Policy. */
export const UI_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "require-trusted-types-for 'script'"
].join('; ')

/** Headers of every UI reply (pages, assets, API). */
export function uiHeaders (): Record<string, string> {
  return {
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    'x-frame-options': 'DENY',
    'cross-origin-opener-policy': 'same-origin',
    'cross-origin-resource-policy': 'same-origin'
  }
}

/** Headers of an HTML page of the UI. */
export function pageHeaders (): Record<string, string> {
  return { ...uiHeaders(), 'content-security-policy': UI_CSP, 'cache-control': 'no-store', 'content-type': 'text/html; charset=utf-8' }
}
