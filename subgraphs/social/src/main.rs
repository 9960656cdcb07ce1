//! The social subgraph as its own process.

#[global_allocator]
static ALLOCATOR: agora_kit::Allocator = agora_kit::Allocator;

#[tokio::main]
async fn main() -> Result<(), agora_kit::service::StartError> {
    agora_kit::service::run_standalone("social", agora_social::build).await
}
