// Who is logged in: the session token (kept in sessionStorage, so it dies with the tab
// and is never shared with other sites' scripts through cookies) and the `getMe`
// answer that decides which pages a person sees.

const TOKEN_KEY = 'stimul.token';

let me = null;

export const session = {
  token() {
    return sessionStorage.getItem(TOKEN_KEY);
  },
  setToken(token) {
    sessionStorage.setItem(TOKEN_KEY, token);
  },
  clear() {
    sessionStorage.removeItem(TOKEN_KEY);
    me = null;
  },
  /** The current `Me`, or null before login. */
  me() {
    return me;
  },
  setMe(value) {
    me = value;
  },
};

/** Whether the person holds `permission` somewhere (edit implies view on the server). */
export function can(permission) {
  return Boolean(me?.permissions?.includes(permission));
}

/** Whether the person holds any of `permissions`. */
export function canAny(...permissions) {
  return permissions.some(can);
}

/** A participant earns points (sellers and owners); staff do not. */
export function isParticipant() {
  return me?.kind === 'participant';
}

/** Pending participants may only see their own account until approved. */
export function isPending() {
  return me?.status === 'pending';
}

/** Whether the person holds a role over the whole program (not a region or store). */
export function isProgramWide() {
  return Boolean(me?.roles?.some((r) => r.scope?.kind === 'program'));
}
