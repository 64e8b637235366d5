"use client";
import { useCallback, useEffect, useState, type FormEvent } from "react";
import { AppShell } from "@/components/AppShell";
import { ErrorNotice } from "@/components/ErrorNotice";
import { api, uploadFiles, type Job, type Schemas, type UploadItem, type User } from "@/lib/api/client";

const ACCEPT = ".pdf,.html,.htm,.md,.markdown,.txt,.jsonl,.ndjson";
const FINISHED = ["succeeded", "failed"];

function JobProgress({ job, name }: { job: Job; name: string }) {
  const percent = Math.round(job.progress * 100);
  return (
    <li data-testid="upload-job">
      <span>{name}</span>{" "}
      {job.state === "failed" ? (
        <span role="alert">failed: {job.error}</span>
      ) : (
        <>
          <progress max={100} value={percent} aria-label={`Indexing ${name}`} /> <span>{job.state === "succeeded" ? "indexed" : `${job.state} ${percent}%`}</span>
        </>
      )}
    </li>
  );
}

function Documents({ me }: { me: User }) {
  const [collection, setCollection] = useState(me.role === "admin" ? "knowledge" : "");
  const [files, setFiles] = useState<File[]>([]);
  const [jobs, setJobs] = useState<{ name: string; job: Job }[]>([]);
  const [page, setPage] = useState<Schemas["Page_UploadPublic_"] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  const load = useCallback(async () => {
    if (!collection) return;
    setError(null);
    try {
      setPage(await api.get("/api/v1/collections/{name}/documents", { path: { name: collection }, query: { limit: 100 } }));
    } catch (caught) {
      setPage(null);
      setError(caught);
    }
  }, [collection]);

  useEffect(() => {
    void load();
  }, [load]);

  useEffect(() => {
    if (!jobs.length || jobs.every((j) => FINISHED.includes(j.job.state))) return;
    const timer = window.setTimeout(async () => {
      try {
        const fresh = await Promise.all(
          jobs.map(async (j) => ({ name: j.name, job: await api.get("/api/v1/jobs/{job_id}", { path: { job_id: j.job.id } }) })),
        );
        setJobs(fresh);
        if (fresh.every((j) => FINISHED.includes(j.job.state))) void load();
      } catch (caught) {
        setError(caught);
      }
    }, 1000);
    return () => window.clearTimeout(timer);
  }, [jobs, load]);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const items: UploadItem[] = await uploadFiles(collection, files);
      const started = await Promise.all(
        items.map(async (item) => ({
          name: item.filename,
          job: await api.get("/api/v1/jobs/{job_id}", { path: { job_id: item.job_id ?? "" } }),
        })),
      );
      setJobs(started);
      void load();
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  }

  async function remove(item: UploadItem) {
    setError(null);
    try {
      await api.delete("/api/v1/collections/{name}/documents/{upload_id}", { path: { name: collection, upload_id: item.id } });
      void load();
    } catch (caught) {
      setError(caught);
    }
  }

  return (
    <>
      <h1>Documents</h1>
      <form onSubmit={submit} className="card" aria-labelledby="upload-heading">
        <h2 id="upload-heading">Upload</h2>
        <p className="muted">PDF, HTML, Markdown, text or JSONL. Each file is indexed on its own.</p>
        <label htmlFor="collection">Collection</label>
        <input id="collection" value={collection} onChange={(e) => setCollection(e.target.value.trim())} required pattern="[A-Za-z0-9_-]{1,64}" />
        <label htmlFor="files">Files</label>
        <input id="files" type="file" multiple accept={ACCEPT} onChange={(e) => setFiles(Array.from(e.target.files ?? []))} required />
        <button type="submit" className="button" disabled={busy || !files.length || !collection}>
          {busy ? "Uploading…" : "Upload"}
        </button>
      </form>
      {jobs.length ? (
        <section aria-labelledby="progress-heading">
          <h2 id="progress-heading">Indexing</h2>
          <ul aria-live="polite">
            {jobs.map((j) => (
              <JobProgress key={j.job.id} job={j.job} name={j.name} />
            ))}
          </ul>
        </section>
      ) : null}
      {error ? <ErrorNotice error={error} onRetry={() => void load()} /> : null}
      {page ? (
        <section aria-labelledby="documents-heading">
          <h2 id="documents-heading">In {collection}</h2>
          {page.items.length ? (
            <table data-testid="documents">
              <thead>
                <tr>
                  <th scope="col">File</th>
                  <th scope="col">State</th>
                  <th scope="col">Documents</th>
                  <th scope="col">Chunks</th>
                  <th scope="col">
                    <span className="visually-hidden">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {page.items.map((item) => (
                  <tr key={item.id}>
                    <td>{item.filename}</td>
                    <td>{item.state === "failed" ? `failed: ${item.error ?? ""}` : item.state}</td>
                    <td>{item.documents}</td>
                    <td>{item.chunks}</td>
                    <td>
                      <button type="button" className="button button-small" onClick={() => void remove(item)} disabled={item.state === "queued" || item.state === "indexing"}>
                        Delete<span className="visually-hidden"> {item.filename}</span>
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : (
            <p>No uploaded documents yet.</p>
          )}
        </section>
      ) : null}
    </>
  );
}

export default function DocumentsPage() {
  return (
    <AppShell title="Documents" roles={["admin", "pharma"]} wide>
      {(user) => <Documents me={user} />}
    </AppShell>
  );
}
