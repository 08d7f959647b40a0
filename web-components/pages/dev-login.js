/**
 * The demo pages' sign-in: asks the server for a dev token (`POST /api/dev/token`, on when the
 * server runs with dev tokens) for a name and user id of the page's role, hands it to the
 * page's element, and gets a fresh one whenever the element fires `chat-auth-required`.
 * The identity is remembered per role, so a reload signs in as the same person.
 */
const PAGES = { customer: '/', agent: '/agent', auditor: '/auditor' };

/**
 * @param {{ role: 'customer' | 'agent' | 'auditor', element: HTMLElement, defaultName: string,
 *   onSignedIn?: (token: string) => void }} options
 */
export function devLogin({ role, element, defaultName, onSignedIn }) {
  const form = document.querySelector('#dev-login');
  const storageKey = `parley-demo:${role}`;
  const saved = JSON.parse(localStorage.getItem(storageKey) ?? 'null');
  const identity = saved ?? { name: defaultName, sub: `${role}-${defaultName.toLowerCase()}-${Math.random().toString(36).slice(2, 6)}` };
  form.elements.name.value = identity.name;
  form.elements.sub.value = identity.sub;
  form.elements.role.value = role;
  const status = form.querySelector('.status');

  form.elements.role.addEventListener('change', () => (location.href = PAGES[form.elements.role.value]));

  let failures = 0;
  async function signIn() {
    const name = form.elements.name.value.trim() || defaultName;
    const sub = form.elements.sub.value.trim() || identity.sub;
    localStorage.setItem(storageKey, JSON.stringify({ name, sub }));
    status.textContent = 'Signing in…';
    try {
      const response = await fetch('/api/dev/token', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ sub, role, name }),
      });
      const body = await response.json().catch(() => ({}));
      if (!response.ok) throw new Error(body.message ?? `HTTP ${response.status}`);
      failures = 0;
      element.token = body.token;
      status.textContent = `Signed in as ${name} (${sub}, ${role}).`;
      onSignedIn?.(body.token);
    } catch (error) {
      failures += 1;
      status.textContent = `Could not get a dev token: ${error.message}. Dev tokens are on by default when the server runs with the embedded database.`;
    }
  }

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    void signIn();
  });
  // Expired or refused: a new token, unless asking keeps failing.
  element.addEventListener('chat-auth-required', () => {
    if (failures < 3) setTimeout(() => void signIn(), failures * 2000);
  });
  void signIn();
}
