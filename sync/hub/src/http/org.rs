//! The organisation over HTTP: `GET /v1/admin/org` (the nodes of the caller's area), `POST
//! /v1/admin/org` (add or change nodes: JSON list, or a CSV / JSON-lines import as text),
//! `DELETE /v1/admin/org/{id}`; departments (`GET/POST /v1/admin/departments`) and the
//! catalog's routing (`GET /v1/admin/routing`, `PUT /v1/admin/routing/{category}`).

use super::extract::{blocking, json_body, CentreAuth};
use crate::authz::Action;
use crate::departments::NewDepartment;
use crate::hub::{Hub, HubError};
use crate::org::{parse_import, NodeInput};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use std::sync::Arc;

type Reply = Result<Response, HubError>;

pub async fn list(State(hub): State<Arc<Hub>>, CentreAuth(who): CentreAuth) -> Reply {
    Ok(Json(blocking(move || hub.org_view(&who)).await?).into_response())
}

pub async fn put(
    State(hub): State<Arc<Hub>>,
    CentreAuth(who): CentreAuth,
    headers: HeaderMap,
    body: Bytes,
) -> Reply {
    who.require(Action::OrgWrite)?;
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let nodes: Vec<NodeInput> = if json {
        serde_json::from_slice(&body).map_err(|e| HubError::BadRequest(e.to_string()))?
    } else {
        let text = std::str::from_utf8(&body)
            .map_err(|_| HubError::BadRequest("the import is not UTF-8 text".into()))?;
        parse_import(text)?
    };
    let ids = blocking(move || hub.put_nodes(&who, &nodes)).await?;
    Ok((StatusCode::OK, Json(serde_json::json!({"ids": ids}))).into_response())
}

pub async fn remove(
    State(hub): State<Arc<Hub>>,
    CentreAuth(who): CentreAuth,
    Path(id): Path<String>,
) -> Reply {
    blocking(move || hub.remove_node(&who, &id)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub async fn departments(State(hub): State<Arc<Hub>>, CentreAuth(who): CentreAuth) -> Reply {
    Ok(Json(blocking(move || hub.departments(&who)).await?).into_response())
}

pub async fn add_department(
    State(hub): State<Arc<Hub>>,
    CentreAuth(who): CentreAuth,
    body: Bytes,
) -> Reply {
    who.require(Action::DepartmentsWrite)?;
    let d: NewDepartment = json_body(&body)?;
    let d = blocking(move || hub.add_department(&who, &d)).await?;
    Ok((StatusCode::CREATED, Json(d)).into_response())
}

pub async fn routing(State(hub): State<Arc<Hub>>, CentreAuth(who): CentreAuth) -> Reply {
    Ok(Json(blocking(move || hub.routing(&who)).await?).into_response())
}

#[derive(Deserialize)]
pub struct Rule {
    level: String,
    department: String,
}

#[derive(Deserialize)]
pub struct Rules {
    rules: Vec<Rule>,
}

pub async fn set_routing(
    State(hub): State<Arc<Hub>>,
    CentreAuth(who): CentreAuth,
    Path(category): Path<String>,
    body: Bytes,
) -> Reply {
    who.require(Action::CatalogWrite)?;
    let b: Rules = json_body(&body)?;
    let rules: Vec<(String, String)> = b
        .rules
        .into_iter()
        .map(|r| (r.level, r.department))
        .collect();
    blocking(move || hub.set_routing(&who, &category, &rules)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
