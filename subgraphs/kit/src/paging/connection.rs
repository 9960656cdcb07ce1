//! Relay connections over a page: edges with keyset cursors, `pageInfo` from the page
//! request, and the names each connection type carries in the schema.

use async_graphql::connection::{Connection, ConnectionNameType, Edge, EdgeNameType, EmptyFields};
use async_graphql::{ObjectType, OutputType};

use super::cursor::{Cursor, Position};
use super::request::PageRequest;

/// A Relay connection over `edges` (in page order, each node with its position), with
/// `additional` fields beside `edges` and `pageInfo` (`EmptyFields` for none).
pub fn connection<N, A, C, E>(
    request: PageRequest,
    has_next: bool,
    additional: A,
    edges: impl IntoIterator<Item = (Position, N)>,
) -> Connection<Cursor, N, A, EmptyFields, C, E>
where
    N: OutputType,
    A: ObjectType,
    C: ConnectionNameType,
    E: EdgeNameType,
{
    let mut connection =
        Connection::with_additional_fields(request.after.is_some(), has_next, additional);
    connection.edges = edges
        .into_iter()
        .map(|(position, node)| Edge::new(Cursor(position), node))
        .collect();
    connection
}

/// Declares the marker types that name connections and their edges in the schema:
/// `Post => "Post"` gives `PostConnection` and `PostEdge`.
///
/// ```ignore
/// agora_kit::connection_names! {
///     /// `PostConnection`: an author's posts.
///     PostName, PostEdgeName => "Post";
/// }
/// ```
#[macro_export]
macro_rules! connection_names {
    ($($(#[$doc:meta])* $connection:ident, $edge:ident => $name:literal;)*) => {$(
        $(#[$doc])*
        pub struct $connection;

        impl $crate::paging::__async_graphql::connection::ConnectionNameType for $connection {
            fn type_name<T: $crate::paging::__async_graphql::OutputType>() -> String {
                concat!($name, "Connection").to_owned()
            }
        }

        #[doc = concat!("Names the edges of `", $name, "Connection`.")]
        pub struct $edge;

        impl $crate::paging::__async_graphql::connection::EdgeNameType for $edge {
            fn type_name<T: $crate::paging::__async_graphql::OutputType>() -> String {
                concat!($name, "Edge").to_owned()
            }
        }
    )*};
}
