"use client";
// Registers /sw.js, which shows the offline page when a page can't be loaded.
import { useEffect } from "react";

export function ServiceWorker() {
  useEffect(() => {
    if (process.env.NODE_ENV !== "production" || !("serviceWorker" in navigator)) return;
    navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(() => {
      // no offline page then; everything else works
    });
  }, []);
  return null;
}
