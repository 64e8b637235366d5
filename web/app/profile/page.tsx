"use client";
import { useCallback, useEffect, useState, type FormEvent } from "react";
import { AppShell } from "@/components/AppShell";
import { ErrorNotice } from "@/components/ErrorNotice";
import { Field, TextArea } from "@/components/Field";
import { ApiError, api, type Profile } from "@/lib/api/client";

interface Draft {
  label: string;
  birth_year: string;
  sex: string;
  weight_kg: string;
  pregnant: string;
  conditions: string;
  medications: string;
  allergies: string;
}

const EMPTY: Draft = {
  label: "Me",
  birth_year: "",
  sex: "",
  weight_kg: "",
  pregnant: "",
  conditions: "",
  medications: "",
  allergies: "",
};

function lines(text: string): string[] {
  return text
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean)
    .slice(0, 100);
}

function draftFrom(profile: Profile): Draft {
  const d = profile.demographics ?? {};
  const str = (v: unknown) => (v === null || v === undefined ? "" : String(v));
  return {
    label: profile.label ?? "Me",
    birth_year: str(d.birth_year),
    sex: str(d.sex),
    weight_kg: str(d.weight_kg),
    pregnant: str(d.pregnant),
    conditions: (profile.conditions ?? []).join("\n"),
    medications: (profile.medications ?? []).join("\n"),
    allergies: (profile.allergies ?? []).join("\n"),
  };
}

function bodyFrom(draft: Draft) {
  const demographics: Record<string, string | number | null> = {};
  if (draft.birth_year.trim()) demographics.birth_year = Number(draft.birth_year);
  if (draft.sex) demographics.sex = draft.sex;
  if (draft.weight_kg.trim()) demographics.weight_kg = Number(draft.weight_kg);
  if (draft.pregnant) demographics.pregnant = draft.pregnant;
  return {
    label: draft.label.trim() || "Me",
    demographics,
    conditions: lines(draft.conditions),
    medications: lines(draft.medications),
    allergies: lines(draft.allergies),
  };
}

interface EditorProps {
  profile: Profile | null;
  onSaved: (p: Profile) => void;
  onDeleted: () => void;
  /** The form changed (an earlier "saved" note no longer holds). */
  onEdit: () => void;
}

function Editor({ profile, onSaved, onDeleted, onEdit }: EditorProps) {
  const [draft, setDraft] = useState<Draft>(profile ? draftFrom(profile) : EMPTY);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [confirming, setConfirming] = useState(false);

  function set<K extends keyof Draft>(key: K, value: string) {
    setDraft((d) => ({ ...d, [key]: value }));
    onEdit();
  }

  async function save(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const body = bodyFrom(draft);
      const result = profile
        ? await api.patch("/api/v1/profiles/{profile_id}", { path: { profile_id: profile.id }, body })
        : await api.post("/api/v1/profiles", { body });
      onSaved(result);
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  }

  async function remove() {
    if (!profile) return;
    setBusy(true);
    try {
      await api.delete("/api/v1/profiles/{profile_id}", { path: { profile_id: profile.id } });
      onDeleted();
    } catch (caught) {
      setError(caught);
      setBusy(false);
    }
  }

  const apiError = error instanceof ApiError ? error : null;
  const year = new Date().getFullYear();
  return (
    <form onSubmit={save} className="stack card" aria-label={profile ? `Edit profile ${profile.label}` : "New profile"}>
      <Field label="Whose profile" hint="For example “Me” or “My father”." value={draft.label} maxLength={100} required onChange={(e) => set("label", e.target.value)} error={apiError?.fieldMessage("label")} />
      <div className="grid-2">
        <Field label="Year of birth" type="number" inputMode="numeric" min={1900} max={year} value={draft.birth_year} onChange={(e) => set("birth_year", e.target.value)} />
        <Field label="Weight (kg)" type="number" inputMode="decimal" min={0} max={500} step="0.1" value={draft.weight_kg} onChange={(e) => set("weight_kg", e.target.value)} />
        <div className="field">
          <label htmlFor="profile-sex">Sex</label>
          <select id="profile-sex" value={draft.sex} onChange={(e) => set("sex", e.target.value)}>
            <option value="">Not given</option>
            <option value="female">Female</option>
            <option value="male">Male</option>
            <option value="intersex">Intersex</option>
          </select>
        </div>
        <div className="field">
          <label htmlFor="profile-pregnant">Pregnant</label>
          <select id="profile-pregnant" value={draft.pregnant} onChange={(e) => set("pregnant", e.target.value)}>
            <option value="">Not given</option>
            <option value="no">No</option>
            <option value="yes">Yes</option>
          </select>
        </div>
      </div>
      <TextArea label="Conditions" hint="One per line." rows={3} value={draft.conditions} onChange={(e) => set("conditions", e.target.value)} />
      <TextArea label="Medications" hint="One per line, with the dose if you know it." rows={3} value={draft.medications} onChange={(e) => set("medications", e.target.value)} />
      <TextArea label="Allergies" hint="One per line." rows={2} value={draft.allergies} onChange={(e) => set("allergies", e.target.value)} />
      {error ? <ErrorNotice error={error} action="Saving the profile" /> : null}
      <div className="row">
        <button type="submit" className="button button-primary" disabled={busy}>
          {profile ? "Save changes" : "Create profile"}
        </button>
        {profile ? (
          confirming ? (
            <>
              <button type="button" className="button button-danger" onClick={remove} disabled={busy}>
                Delete this profile for good
              </button>
              <button type="button" className="button" onClick={() => setConfirming(false)}>
                Keep it
              </button>
            </>
          ) : (
            <button type="button" className="button" onClick={() => setConfirming(true)}>
              Delete profile
            </button>
          )
        ) : null}
      </div>
    </form>
  );
}

function Profiles() {
  const [profiles, setProfiles] = useState<Profile[] | null>(null);
  const [selected, setSelected] = useState<string | "new">("new");
  const [error, setError] = useState<unknown>(null);
  const [note, setNote] = useState("");

  const load = useCallback(async (select?: string) => {
    setError(null);
    try {
      const list = await api.get("/api/v1/profiles");
      setProfiles(list);
      setSelected((current) => select ?? (current !== "new" && list.some((p) => p.id === current) ? current : (list[0]?.id ?? "new")));
    } catch (caught) {
      setError(caught);
    }
  }, []);

  useEffect(() => {
    void load();
  }, [load]);

  const profile = profiles?.find((p) => p.id === selected) ?? null;
  return (
    <>
      <h1>Your health profile</h1>
      <p>
        Lumen uses a profile only when you tick “Take my profile into account” with a question. It is stored encrypted
        and you can delete it at any time.
      </p>
      {error ? <ErrorNotice error={error} action="Loading your profiles" onRetry={() => void load()} /> : null}
      {profiles === null && !error ? (
        <p role="status" className="muted">
          Loading…
        </p>
      ) : null}
      {profiles !== null ? (
        <>
          {profiles.length ? (
            <div className="field">
              <label htmlFor="profile-select">Profile</label>
              <select
                id="profile-select"
                value={selected}
                onChange={(e) => {
                  setSelected(e.target.value);
                  setNote("");
                }}
              >
                {profiles.map((p) => (
                  <option key={p.id} value={p.id}>
                    {p.label}
                  </option>
                ))}
                <option value="new">Add a new profile…</option>
              </select>
            </div>
          ) : null}
          <p role="status" className={note ? "notice notice-ok" : "visually-hidden"}>
            {note}
          </p>
          <Editor
            key={profile ? profile.id : "new"}
            profile={profile}
            onSaved={(p) => {
              // Update the list in place: the editor keeps what is typed next.
              setProfiles((list) => {
                const current = list ?? [];
                return current.some((x) => x.id === p.id) ? current.map((x) => (x.id === p.id ? p : x)) : [...current, p];
              });
              setSelected(p.id);
              setNote(`Profile “${p.label}” saved.`);
            }}
            onEdit={() => setNote("")}
            onDeleted={() => {
              setNote("Profile deleted.");
              void load();
            }}
          />
        </>
      ) : null}
    </>
  );
}

export default function ProfilePage() {
  return <AppShell title="Profile">{() => <Profiles />}</AppShell>;
}
