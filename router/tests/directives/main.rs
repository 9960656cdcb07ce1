//! Federation directives end to end: for each directive family a few small
//! async-graphql subgraphs of its own, composed, served on port 0 behind a real
//! router, and a table of operations whose whole responses must equal expected JSON
//! (and, where it matters, how many requests each subgraph received).
//!
//! Operations checked, by family:
//! - `keys`: 16 (compound, multiple, nested and `resolvable: false` keys)
//! - `requires`: 14 (`@requires`, `@provides`, `@external`)
//! - `shareable`: 8
//! - `overrides`: 7 (`@override`, with and without progressive labels)
//! - `abstract_types`: 14 (interfaces, unions, `@interfaceObject`)
//! - `inaccessible`: 14 (`@inaccessible`, `@tag`)
//! - `enums_inputs`: 12 (enums and input objects that differ between subgraphs)
//! - `projection`: 24 (aliases, fragments, `@skip`/`@include`, `Condition` nodes,
//!   null propagation, error paths, partial data)
//!
//! Total: 109.

mod abstract_types;
mod enums_inputs;
mod harness;
mod inaccessible;
mod keys;
mod overrides;
mod projection;
mod requires;
mod shareable;
