// A participant's own check of a consent record (issue 14), in the browser with Web Crypto:
// 1. the record's hash, recomputed from its fields (consent/ledger.py: SHA-256 of the
//    previous hash, a newline and the fields as canonical JSON);
// 2. the sealed audit entry names this record and carries that hash;
// 3. RFC 9162 (2.1.3.2): the entry's leaf hash and the inclusion path lead to the root of
//    the signed checkpoint;
// 4. the checkpoint (c2sp.org/tlog-checkpoint) is signed by the portal's Ed25519 key
//    (c2sp.org/signed-note).
// Nothing here trusts a hash the page states: each is recomputed from the bytes given.
"use strict";

(function () {
  const dataNode = document.getElementById("verify-data");
  const verdict = document.getElementById("verify-verdict");
  const words = document.getElementById("verify-messages");
  if (!dataNode || !verdict || !words) {
    return;
  }
  const data = JSON.parse(dataNode.textContent);
  const encoder = new TextEncoder();

  function hex(bytes) {
    return Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, "0")).join("");
  }

  function fromHex(text) {
    const out = new Uint8Array(text.length / 2);
    for (let i = 0; i < out.length; i++) {
      out[i] = parseInt(text.substr(i * 2, 2), 16);
    }
    return out;
  }

  function fromBase64(text) {
    const raw = atob(text);
    return Uint8Array.from(raw, (c) => c.charCodeAt(0));
  }

  function concat(...parts) {
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const part of parts) {
      out.set(part, at);
      at += part.length;
    }
    return out;
  }

  async function sha256(bytes) {
    return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  }

  // Python's json.dumps(sort_keys=True, separators=(",", ":"), ensure_ascii=False).
  function canonical(value) {
    if (value === null || typeof value !== "object") {
      return JSON.stringify(value);
    }
    if (Array.isArray(value)) {
      return "[" + value.map(canonical).join(",") + "]";
    }
    const keys = Object.keys(value).sort();
    return "{" + keys.map((k) => JSON.stringify(k) + ":" + canonical(value[k])).join(",") + "}";
  }

  function equal(a, b) {
    return canonical(a) === canonical(b);
  }

  async function rootFromInclusionPath(index, size, leaf, path) {
    if (index >= size) {
      return null;
    }
    let fn = index;
    let sn = size - 1;
    let r = leaf;
    for (const p of path) {
      if (sn === 0) {
        return null;
      }
      if (fn % 2 === 1 || fn === sn) {
        r = await sha256(concat([1], p, r));
        if (fn % 2 === 0) {
          while (fn % 2 === 0 && fn !== 0) {
            fn = Math.floor(fn / 2);
            sn = Math.floor(sn / 2);
          }
        }
      } else {
        r = await sha256(concat([1], r, p));
      }
      fn = Math.floor(fn / 2);
      sn = Math.floor(sn / 2);
    }
    return sn === 0 ? r : null;
  }

  // The signed text, its lines, and whether a signature by this key verifies.
  async function openCheckpoint(note, key) {
    const cut = note.lastIndexOf("\n\n");
    if (cut < 0) {
      return null;
    }
    const text = note.slice(0, cut + 1);
    // The base64 part may itself hold '+': split off the first two fields only.
    const [name, keyHash] = key.split("+", 2);
    const encoded = key.slice(name.length + keyHash.length + 2);
    const keyBytes = fromBase64(encoded);
    if (keyBytes.length !== 33 || keyBytes[0] !== 1) {
      return null;
    }
    const publicKey = await crypto.subtle.importKey(
      "raw", keyBytes.slice(1), { name: "Ed25519" }, false, ["verify"]);
    const expectedHash = (await sha256(concat(encoder.encode(name + "\n"), keyBytes))).slice(0, 4);
    if (hex(expectedHash) !== keyHash) {
      return null;
    }
    for (const line of note.slice(cut + 2).split("\n")) {
      const match = /^\u2014 (\S+) (\S+)$/.exec(line);
      if (!match || match[1] !== name) {
        continue;
      }
      const signature = fromBase64(match[2]);
      if (hex(signature.slice(0, 4)) !== keyHash) {
        continue;
      }
      const ok = await crypto.subtle.verify(
        { name: "Ed25519" }, publicKey, signature.slice(4), encoder.encode(text));
      if (ok) {
        return text.split("\n");
      }
    }
    return null;
  }

  function mark(step, passed) {
    const item = document.querySelector('[data-step="' + step + '"] .step-result');
    if (item) {
      item.textContent = passed === null ? words.dataset.skipped
        : passed ? words.dataset.passed : words.dataset.failed;
      item.parentElement.dataset.result = passed === null ? "skipped" : passed ? "passed" : "failed";
    }
  }

  function finish(outcome) {
    verdict.dataset.verdict = outcome;
    verdict.className = outcome === "ok" ? "notice message-success" : "notice message-error";
    verdict.textContent = "";
    const p = document.createElement("p");
    p.textContent = words.dataset[outcome];
    verdict.appendChild(p);
  }

  async function check() {
    const steps = ["record", "entry", "proof", "signature"];
    const fail = (step) => {
      const at = steps.indexOf(step);
      mark(step, false);
      steps.slice(at + 1).forEach((later) => mark(later, null));
      finish(step);
    };
    // 1. The record's hash.
    const recordHash = hex(await sha256(encoder.encode(
      data.previous_hash + "\n" + canonical(data.record))));
    if (recordHash !== data.record_hash) {
      return fail("record");
    }
    mark("record", true);
    // 2. The sealed entry is about this record and carries its hash (entries written before
    //    the hash was added carry its sequence and answers).
    const entry = JSON.parse(data.entry);
    const after = entry.after || {};
    const aboutIt = entry.object_type === "consent.consentrecord"
      && entry.object_id === String(data.record_id)
      && ("record_hash" in after
        ? after.record_hash === recordHash
        : after.sequence === data.record.sequence && equal(after.answers, data.record.answers));
    if (!aboutIt) {
      return fail("entry");
    }
    mark("entry", true);
    // 3. The inclusion proof, from the entry's own bytes to the checkpoint's root.
    const leaf = await sha256(concat([0], encoder.encode(data.entry)));
    const lines = data.checkpoint.split("\n");
    const root = await rootFromInclusionPath(
      data.leaf_index, data.tree_size, leaf, data.inclusion_path.map(fromHex));
    if (root === null || lines[1] !== String(data.tree_size) || hex(root) !== hex(fromBase64(lines[2]))) {
      return fail(hex(leaf) === data.leaf_hash ? "proof" : "entry");
    }
    mark("proof", true);
    // 4. The checkpoint's signature.
    const signed = await openCheckpoint(data.checkpoint, data.key);
    if (signed === null || signed[1] !== lines[1] || signed[2] !== lines[2]) {
      return fail("signature");
    }
    mark("signature", true);
    finish("ok");
  }

  async function supported() {
    try {
      // RFC 8032's first test key: any valid public key shows Ed25519 is there.
      const key = await crypto.subtle.importKey(
        "raw",
        fromHex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"),
        { name: "Ed25519" },
        false,
        ["verify"]);
      return Boolean(key);
    } catch (error) {
      return false;
    }
  }

  (async function () {
    if (!window.crypto || !crypto.subtle || !(await supported())) {
      finish("unsupported");
      return;
    }
    try {
      await check();
    } catch (error) {
      // A malformed proof or checkpoint (bad hex, bad base64) is a failed check, not a crash.
      finish("proof");
    }
  })();
})();
