"use client";
// Who is signed in. The session itself is the httpOnly cookie; this only caches /me.
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from "react";
import { ApiError, api, type User } from "./api/client";

type SessionState =
  | { status: "loading"; user: null; error: null }
  | { status: "signed-in"; user: User; error: null }
  | { status: "signed-out"; user: null; error: null }
  | { status: "error"; user: null; error: ApiError };

interface SessionValue {
  state: SessionState;
  refresh: () => Promise<void>;
  setUser: (user: User | null) => void;
}

const SessionContext = createContext<SessionValue | null>(null);

export function SessionProvider({ children }: { children: ReactNode }) {
  const [state, setState] = useState<SessionState>({ status: "loading", user: null, error: null });

  const refresh = useCallback(async () => {
    try {
      const user = await api.get("/api/v1/me", { noAuthRedirect: true });
      setState({ status: "signed-in", user, error: null });
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) {
        setState({ status: "signed-out", user: null, error: null });
      } else {
        setState({
          status: "error",
          user: null,
          error: error instanceof ApiError ? error : new ApiError(0, "network", String(error)),
        });
      }
    }
  }, []);

  const setUser = useCallback((user: User | null) => {
    setState(user ? { status: "signed-in", user, error: null } : { status: "signed-out", user: null, error: null });
  }, []);

  useEffect(() => {
    void refresh();
  }, [refresh]);

  const value = useMemo(() => ({ state, refresh, setUser }), [state, refresh, setUser]);
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSession(): SessionValue {
  const value = useContext(SessionContext);
  if (!value) throw new Error("useSession outside SessionProvider");
  return value;
}
