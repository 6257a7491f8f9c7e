import { useQueryClient } from '@tanstack/react-query';
import { useCallback, useMemo, useState } from 'react';
import { ApiClient } from './api/client';
import { Ctx } from './context';
import { Layout } from './components/Layout';
import { AuditPage } from './pages/AuditPage';
import { KeyConfigurationPage } from './pages/KeyConfigurationPage';
import { KeyConfigurationsPage } from './pages/KeyConfigurationsPage';
import { OverviewPage } from './pages/OverviewPage';
import { RegisterKeyPage } from './pages/RegisterKeyPage';
import { ServicePrincipalsPage } from './pages/ServicePrincipalsPage';
import { SiemPage } from './pages/SiemPage';
import { AcceptInvitationPage } from './pages/AcceptInvitationPage';
import { AccountPage } from './pages/AccountPage';
import { SecurityPage } from './pages/SecurityPage';
import { ForgotPasswordPage, ResetPasswordPage } from './pages/PasswordResetPages';
import { UsersPage } from './pages/UsersPage';
import { SignInPage } from './pages/SignInPage';
import { SsoSettingsPage } from './pages/SsoSettingsPage';
import { SsoCompletePage, SsoErrorPage, SsoSignInPage } from './pages/SsoSignInPages';
import { WorkspacePage } from './pages/WorkspacePage';
import { WorkspacesPage } from './pages/WorkspacesPage';
import { navigate, useRoute, type Route } from './router';
import { clearSession, loadSession, saveSession, type Session } from './session';

/** Session gate + page switch. Signing out (or a 401) forgets the token and returns to sign-in. */
export function App() {
  const [session, setSession] = useState<Session | null>(() => loadSession());
  const [expired, setExpired] = useState(false);
  const route = useRoute();

  const queries = useQueryClient();
  const signOut = useCallback(
    (why: 'user' | 'expired') => {
      clearSession();
      queries.clear(); // nothing of this session's tenant outlives it
      setSession(null);
      setExpired(why === 'expired');
    },
    [queries],
  );

  const ssoSignedIn = useCallback((s: Session) => {
    saveSession(s);
    setExpired(false);
    setSession(s);
    navigate('/');
  }, []);

  const ctx = useMemo(() => {
    if (!session) return null;
    const api = new ApiClient(session.token, session.tenantId, () => signOut('expired'));
    return { api, session, canWrite: session.role !== 'auditor' };
  }, [session, signOut]);

  // Emailed links and "forgot password" work with or without a session.
  // keyed by token: a different link is a different page, with none of the previous one's state
  if (route.page === 'accept-invitation') return <AcceptInvitationPage key={route.token} token={route.token} />;
  if (route.page === 'reset-password') return <ResetPasswordPage key={route.token} token={route.token} />;
  if (route.page === 'forgot-password') return <ForgotPasswordPage />;
  // Single sign-on: the way in (tenant id → IdP), the way back (collect the session) and its failures.
  if (route.page === 'sso-sign-in') return <SsoSignInPage />;
  if (route.page === 'sso-error') return <SsoErrorPage key={route.code} code={route.code} />;
  if (route.page === 'sso-complete') return <SsoCompletePage onSignedIn={ssoSignedIn} />;

  if (!ctx) {
    return (
      <SignInPage
        expired={expired}
        onSignedIn={(s) => {
          saveSession(s);
          setExpired(false);
          setSession(s);
        }}
      />
    );
  }
  return (
    <Ctx.Provider value={ctx}>
      <Layout route={route} onSignOut={() => signOut('user')}>
        <Page
          route={route}
          onPasswordChanged={() => {
            // every session of the user ended with the change: back to sign-in
            signOut('user');
            navigate('/');
          }}
        />
      </Layout>
    </Ctx.Provider>
  );
}

function Page({ route, onPasswordChanged }: { route: Route; onPasswordChanged: () => void }) {
  switch (route.page) {
    case 'overview':
      return <OverviewPage />;
    case 'keys':
      return <KeyConfigurationsPage />;
    case 'key-new':
      return <RegisterKeyPage />;
    case 'key':
      return <KeyConfigurationPage id={route.id} />;
    case 'workspaces':
      return <WorkspacesPage />;
    case 'workspace':
      return <WorkspacePage id={route.id} />;
    case 'audit':
      return <AuditPage />;
    case 'service-principals':
      return <ServicePrincipalsPage />;
    case 'siem':
      return <SiemPage />;
    case 'users':
      return <UsersPage />;
    case 'account':
      return <AccountPage onPasswordChanged={onPasswordChanged} />;
    case 'security':
      return <SecurityPage />;
    case 'accept-invitation':
    case 'reset-password':
    case 'forgot-password':
    case 'sso-sign-in':
    case 'sso-complete':
    case 'sso-error':
      return null;
    case 'sso':
      return <SsoSettingsPage />;
    case 'not-found':
      return (
        <section>
          <h1>Page not found</h1>
          <p>
            <a href="#/">Go to the overview</a>
          </p>
        </section>
      );
  }
}
