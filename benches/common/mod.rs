//! What both benchmarks share: an API client that carries an admin token.

use avtal::registry::Registry;

/// An admin user (no password: it cannot sign in) with one API token, stored directly, and a
/// client that sends the token: every route but `/health` needs one.
pub async fn api_client(registry: &Registry) -> anyhow::Result<reqwest::Client> {
    Ok(api_client_and_token(registry).await?.0)
}

/// [`api_client`] and the token it sends (for load generators that send it themselves).
pub async fn api_client_and_token(
    registry: &Registry,
) -> anyhow::Result<(reqwest::Client, String)> {
    let user = avtal::db::users::insert_user(
        &registry.db,
        &format!("bench-{}@avtal.example", std::process::id()),
        "!",
        avtal::domain::access::Role::Admin,
        None,
    )
    .await?;
    let token = format!("avt_{}", avtal::registry::accounts::new_secret()?);
    avtal::db::users::insert_token(
        &registry.db,
        user.id,
        "bench",
        &avtal::registry::accounts::secret_hash(&token),
    )
    .await?;
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::AUTHORIZATION,
        reqwest::header::HeaderValue::from_str(&format!("Bearer {token}"))?,
    );
    Ok((
        reqwest::Client::builder()
            .default_headers(headers)
            .build()?,
        token,
    ))
}
