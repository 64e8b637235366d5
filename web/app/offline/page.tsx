import type { Metadata } from "next";

export const metadata: Metadata = { title: "Offline" };

// Shown by the service worker when a page can't be loaded. Plain links only: it has to
// work without the network and without any script.
export default function OfflinePage() {
  return (
    <main id="main" className="main main-narrow">
      <h1>You are offline</h1>
      <p>Lumen can&apos;t be reached right now. Your conversations are safe on the server.</p>
      <p>Check your connection, then try again.</p>
      <p>
        <a className="button button-primary" href="/chat">
          Try again
        </a>
      </p>
      <p className="muted">In an emergency call 911 (or your local emergency number). For a crisis, call or text 988.</p>
    </main>
  );
}
