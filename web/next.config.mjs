// `next build` writes a static export to out/, which `lumen serve` serves at `/`.
// `next dev` (npm run dev) proxies /api to a running `lumen serve` (LUMEN_API_URL,
// default http://127.0.0.1:8000) so the app hot-reloads against the real API.
const isDev = process.env.NODE_ENV === "development";
const apiUrl = process.env.LUMEN_API_URL || "http://127.0.0.1:8000";

/** @type {import('next').NextConfig} */
const nextConfig = {
  reactStrictMode: true,
  poweredByHeader: false,
  images: { unoptimized: true },
  ...(isDev
    ? {
        async rewrites() {
          return [
            { source: "/api/:path*", destination: `${apiUrl}/api/:path*` },
            { source: "/healthz", destination: `${apiUrl}/healthz` },
            { source: "/readyz", destination: `${apiUrl}/readyz` },
          ];
        },
      }
    : { output: "export" }),
};

export default nextConfig;
