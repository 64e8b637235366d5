import Link from "next/link";

export default function NotFound() {
  return (
    <main id="main" className="main main-narrow">
      <h1>Page not found</h1>
      <p>There is no page at this address.</p>
      <p>
        <Link href="/chat">Go to Lumen</Link>
      </p>
    </main>
  );
}
