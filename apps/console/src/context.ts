import { createContext, useContext } from 'react';
import type { ApiClient } from './api/client';
import type { Session } from './session';

export interface ConsoleContext {
  api: ApiClient;
  session: Session;
  /** Key admins change things; auditors only read. Display only: the API enforces roles. */
  canWrite: boolean;
}

export const Ctx = createContext<ConsoleContext | null>(null);

export function useConsole(): ConsoleContext {
  const c = useContext(Ctx);
  if (!c) throw new Error('useConsole outside a signed-in console');
  return c;
}
