//! `@shareable`: fields and a value type both subgraphs resolve, answered by whichever
//! subgraph the plan is already in, and a shareable root field. 8 operations.

use async_graphql::{EmptyMutation, EmptySubscription, ID, Object, Schema, SimpleObject};
use serde_json::json;

use crate::harness::{Graph, Subgraph, case};

/// (id, title, isbn, width, height, copies in the library)
const BOOKS: [(&str, &str, &str, i32, i32, i32); 2] = [
    ("b1", "Dune", "978-0441013593", 11, 18, 3),
    ("b2", "Emma", "978-0141439587", 13, 20, 0),
];

type Row = &'static (&'static str, &'static str, &'static str, i32, i32, i32);

fn book(id: &str) -> Option<Row> {
    BOOKS.iter().find(|b| b.0 == id)
}

/// A value type both subgraphs define.
#[derive(SimpleObject)]
#[graphql(shareable)]
struct Dimensions {
    width: i32,
    height: i32,
}

// ---- catalog ------------------------------------------------------------------------

struct CatalogBook(Row);

#[Object(name = "Book")]
impl CatalogBook {
    async fn id(&self) -> ID {
        ID(self.0.0.to_owned())
    }
    #[graphql(shareable)]
    async fn title(&self) -> &str {
        self.0.1
    }
    #[graphql(shareable)]
    async fn isbn(&self) -> &str {
        self.0.2
    }
    #[graphql(shareable)]
    async fn size(&self) -> Dimensions {
        Dimensions {
            width: self.0.3,
            height: self.0.4,
        }
    }
}

struct CatalogQuery;

#[Object(name = "Query")]
impl CatalogQuery {
    async fn books(&self) -> Vec<CatalogBook> {
        BOOKS.iter().map(CatalogBook).collect()
    }
    #[graphql(shareable)]
    async fn featured(&self) -> Option<CatalogBook> {
        book("b1").map(CatalogBook)
    }
    #[graphql(entity)]
    async fn find_book(&self, id: ID) -> Option<CatalogBook> {
        book(&id).map(CatalogBook)
    }
}

// ---- library ------------------------------------------------------------------------

struct LibraryBook(Row);

#[Object(name = "Book")]
impl LibraryBook {
    async fn id(&self) -> ID {
        ID(self.0.0.to_owned())
    }
    #[graphql(shareable)]
    async fn title(&self) -> &str {
        self.0.1
    }
    #[graphql(shareable)]
    async fn isbn(&self) -> &str {
        self.0.2
    }
    #[graphql(shareable)]
    async fn size(&self) -> Dimensions {
        Dimensions {
            width: self.0.3,
            height: self.0.4,
        }
    }
    async fn copies(&self) -> i32 {
        self.0.5
    }
}

struct LibraryQuery;

#[Object(name = "Query")]
impl LibraryQuery {
    /// The books on the shelf, newest first.
    async fn shelf(&self) -> Vec<LibraryBook> {
        BOOKS.iter().rev().map(LibraryBook).collect()
    }
    #[graphql(shareable)]
    async fn featured(&self) -> Option<LibraryBook> {
        book("b1").map(LibraryBook)
    }
    #[graphql(entity)]
    async fn find_book(&self, id: ID) -> Option<LibraryBook> {
        book(&id).map(LibraryBook)
    }
}

async fn graph() -> Graph {
    Graph::start(vec![
        Subgraph::serve(
            "catalog",
            Schema::build(CatalogQuery, EmptyMutation, EmptySubscription)
                .enable_federation()
                .finish(),
        )
        .await,
        Subgraph::serve(
            "library",
            Schema::build(LibraryQuery, EmptyMutation, EmptySubscription)
                .enable_federation()
                .finish(),
        )
        .await,
    ])
    .await
}

#[tokio::test]
async fn shareable_fields_are_answered_by_the_subgraph_the_plan_is_in() {
    let graph = graph().await;
    graph
        .check(&[
            case(
                "shareable fields below one subgraph's root field come from that subgraph",
                "{ books { title isbn } }",
                json!({ "data": { "books": [
                    { "title": "Dune", "isbn": "978-0441013593" },
                    { "title": "Emma", "isbn": "978-0141439587" },
                ] } }),
            )
            .requests("catalog", 1)
            .requests("library", 0),
            case(
                "the same shareable fields below the other subgraph's root come from it",
                "{ shelf { title isbn copies } }",
                json!({ "data": { "shelf": [
                    { "title": "Emma", "isbn": "978-0141439587", "copies": 0 },
                    { "title": "Dune", "isbn": "978-0441013593", "copies": 3 },
                ] } }),
            )
            .requests("catalog", 0)
            .requests("library", 1),
            case(
                "a field only one subgraph has is joined to shareable ones from the other",
                "{ books { title copies } }",
                json!({ "data": { "books": [
                    { "title": "Dune", "copies": 3 },
                    { "title": "Emma", "copies": 0 },
                ] } }),
            )
            .requests("catalog", 1)
            .requests("library", 1),
            case(
                "a shareable value type is resolved where its parent is",
                "{ shelf { size { width height } } }",
                json!({ "data": { "shelf": [
                    { "size": { "width": 13, "height": 20 } },
                    { "size": { "width": 11, "height": 18 } },
                ] } }),
            )
            .requests("catalog", 0),
            case(
                "root fields of both subgraphs select the shared value type side by side",
                "{ books { size { width } } shelf { size { height } } }",
                json!({ "data": {
                    "books": [{ "size": { "width": 11 } }, { "size": { "width": 13 } }],
                    "shelf": [{ "size": { "height": 20 } }, { "size": { "height": 18 } }],
                } }),
            )
            .requests("catalog", 1)
            .requests("library", 1),
            case(
                "a shareable root field is answered once",
                "{ featured { id title isbn } }",
                json!({ "data": { "featured": {
                    "id": "b1", "title": "Dune", "isbn": "978-0441013593",
                } } }),
            ),
            case(
                "a shareable root field followed by a field of one subgraph only",
                "{ featured { title copies } }",
                json!({ "data": { "featured": { "title": "Dune", "copies": 3 } } }),
            ),
            case(
                "aliases of one shareable field from both roots",
                "{ books { name: title } shelf { name: title label: isbn } }",
                json!({ "data": {
                    "books": [{ "name": "Dune" }, { "name": "Emma" }],
                    "shelf": [
                        { "name": "Emma", "label": "978-0141439587" },
                        { "name": "Dune", "label": "978-0441013593" },
                    ],
                } }),
            ),
        ])
        .await;
}
