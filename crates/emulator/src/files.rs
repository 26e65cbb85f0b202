//! Files and batches of the emulator's OpenAI API, kept in memory (see
//! `media` for the table of what is answered).

use std::collections::HashMap;
use std::sync::PoisonError;

use bytes::Bytes;
use http::request::Parts;
use http::{HeaderValue, Method, Response, StatusCode};
use serde_json::{Value, json};

use crate::Inner;
use crate::body::EmuBody;
use crate::media::{Api, Part, bad, field, not_found, ok_json, resource, text};
use crate::server::{error, respond};
use crate::wire;

/// Files and batches, in memory.
#[derive(Default)]
pub(crate) struct Store {
    files: HashMap<String, (Value, Bytes)>,
    batches: HashMap<String, Value>,
    /// Creation order, for lists.
    file_order: Vec<String>,
    batch_order: Vec<String>,
}

pub(crate) fn resources(
    inner: &Inner,
    parts: &Parts,
    api: Api,
    form: Option<&[Part<'_>]>,
    body: Option<&Value>,
    rid: &str,
) -> Response<EmuBody> {
    let segs = resource(parts.uri.path())
        .map(|(_, s)| s)
        .unwrap_or_default();
    let mut store = inner.store.lock().unwrap_or_else(PoisonError::into_inner);
    let now = wire::unix_now();
    match (api, &parts.method, segs.as_slice()) {
        (Api::Files, &Method::POST, []) => {
            let Some(p) = form else {
                return bad("files takes a multipart/form-data body with `file` and `purpose`");
            };
            let (Some(file), Some(purpose)) = (field(p, "file"), text(p, "purpose")) else {
                return bad("file and purpose are required");
            };
            let id = format!("file-{rid}");
            let obj = json!({"id": id, "object": "file", "bytes": file.data.len(), "created_at": now,
                "filename": file.filename.as_deref().unwrap_or("upload"), "purpose": purpose,
                "status": "processed", "status_details": null});
            store
                .files
                .insert(id.clone(), (obj.clone(), Bytes::copy_from_slice(file.data)));
            store.file_order.push(id);
            ok_json(&obj, false)
        }
        (Api::Files, &Method::GET, []) => {
            let data: Vec<&Value> = store
                .file_order
                .iter()
                .filter_map(|id| store.files.get(id).map(|(v, _)| v))
                .collect();
            ok_json(
                &json!({"object": "list", "data": data, "has_more": false}),
                false,
            )
        }
        (Api::Files, m, [id]) => {
            if *m == Method::DELETE {
                if store.files.remove(*id).is_none() {
                    return not_found(&format!("No such File object: {id}"));
                }
                store.file_order.retain(|f| f != id);
                return ok_json(&json!({"id": id, "object": "file", "deleted": true}), false);
            }
            match store.files.get(*id) {
                Some((v, _)) => ok_json(v, false),
                None => not_found(&format!("No such File object: {id}")),
            }
        }
        (Api::Files, _, [id, "content"]) => match store.files.get(*id) {
            Some((_, data)) => respond(
                StatusCode::OK,
                HeaderValue::from_static("application/octet-stream"),
                EmuBody::full(data.clone()),
            ),
            None => not_found(&format!("No such File object: {id}")),
        },
        (Api::Batches, &Method::POST, []) => {
            let Some(v) = body else {
                return bad("We could not parse the JSON body of your request.");
            };
            let file = v.get("input_file_id").and_then(Value::as_str).unwrap_or("");
            let Some((_, data)) = store.files.get(file) else {
                return bad(&format!(
                    "input_file_id: no such file `{file}`; upload it to /v1/files first"
                ));
            };
            let lines = data
                .split(|b| *b == b'\n')
                .filter(|l| !l.is_empty())
                .count();
            let id = format!("batch_{rid}");
            let batch = json!({"id": id, "object": "batch",
                "endpoint": v.get("endpoint").cloned().unwrap_or(json!("/v1/chat/completions")),
                "errors": null, "input_file_id": file,
                "completion_window": v.get("completion_window").cloned().unwrap_or(json!("24h")),
                "status": "validating", "output_file_id": null, "error_file_id": null,
                "created_at": now, "in_progress_at": null, "expires_at": now + 86400,
                "finalizing_at": null, "completed_at": null, "failed_at": null, "expired_at": null,
                "cancelling_at": null, "cancelled_at": null,
                "request_counts": {"total": lines, "completed": 0, "failed": 0},
                "metadata": v.get("metadata").cloned().unwrap_or(Value::Null)});
            store.batches.insert(id.clone(), batch.clone());
            store.batch_order.push(id);
            ok_json(&batch, false)
        }
        (Api::Batches, _, []) => {
            let data: Vec<&Value> = store
                .batch_order
                .iter()
                .filter_map(|id| store.batches.get(id))
                .collect();
            ok_json(
                &json!({"object": "list", "data": data, "has_more": false}),
                false,
            )
        }
        (Api::Batches, _, [id, rest @ ..]) => {
            let Some(b) = store.batches.get_mut(*id) else {
                return not_found(&format!("No such Batch object: {id}"));
            };
            if rest == ["cancel"] {
                b["status"] = json!("cancelled");
                b["cancelled_at"] = json!(now);
            }
            ok_json(b, false)
        }
        _ => error(StatusCode::NOT_FOUND, "Invalid URL", Some("unknown_url")),
    }
}
