//! Interfaces, unions and `@interfaceObject` across subgraphs: an entity interface in
//! one subgraph, an interface object adding a field to every implementation in
//! another, and a union of those entities in a third; `... on X` fragments, named
//! fragments and `__typename`. 14 operations.

use async_graphql::{
    EmptyMutation, EmptySubscription, ID, Interface, Object, Schema, SimpleObject, Union,
};
use serde_json::json;

use crate::harness::{Graph, Subgraph, case};

/// (id, title, pages or minutes); `m1` and `m3` are books, `m2` and `m4` movies.
const ITEMS: [(&str, &str, i32); 4] = [
    ("m1", "Dune", 412),
    ("m2", "Alien", 117),
    ("m3", "Emma", 474),
    ("m4", "Heat", 170),
];

fn is_book(id: &str) -> bool {
    matches!(id, "m1" | "m3")
}

// ---- media: the entity interface and its implementations ---------------------------

struct Book(&'static (&'static str, &'static str, i32));

#[Object]
impl Book {
    async fn id(&self) -> ID {
        ID(self.0.0.to_owned())
    }
    async fn title(&self) -> &str {
        self.0.1
    }
    async fn pages(&self) -> i32 {
        self.0.2
    }
}

struct Movie(&'static (&'static str, &'static str, i32));

#[Object]
impl Movie {
    async fn id(&self) -> ID {
        ID(self.0.0.to_owned())
    }
    async fn title(&self) -> &str {
        self.0.1
    }
    async fn minutes(&self) -> i32 {
        self.0.2
    }
}

#[derive(Interface)]
#[graphql(field(name = "id", ty = "ID"), field(name = "title", ty = "&str"))]
enum Media {
    Book(Book),
    Movie(Movie),
}

fn media(id: &str) -> Option<Media> {
    let item = ITEMS.iter().find(|item| item.0 == id)?;
    Some(if is_book(id) {
        Media::Book(Book(item))
    } else {
        Media::Movie(Movie(item))
    })
}

struct MediaQuery;

#[Object(name = "Query")]
impl MediaQuery {
    async fn media(&self) -> Vec<Media> {
        ITEMS.iter().filter_map(|item| media(item.0)).collect()
    }
    async fn media_item(&self, id: ID) -> Option<Media> {
        media(&id)
    }
    #[graphql(entity)]
    async fn find_media(&self, id: ID) -> Option<Media> {
        media(&id)
    }
    #[graphql(entity)]
    async fn find_book(&self, id: ID) -> Option<Book> {
        ITEMS
            .iter()
            .find(|item| item.0 == id.as_str() && is_book(item.0))
            .map(Book)
    }
    #[graphql(entity)]
    async fn find_movie(&self, id: ID) -> Option<Movie> {
        ITEMS
            .iter()
            .find(|item| item.0 == id.as_str() && !is_book(item.0))
            .map(Movie)
    }
}

// ---- ratings: an interface object -----------------------------------------------------

/// ratings sees every `Media` as one object type.
#[derive(SimpleObject)]
#[graphql(name = "Media", interface_object)]
struct RatedMedia {
    id: ID,
    stars: Option<i32>,
}

fn rated(id: &str) -> RatedMedia {
    let stars = match id {
        "m1" => Some(5),
        "m2" => Some(4),
        "m4" => Some(3),
        _ => None,
    };
    RatedMedia {
        id: ID(id.to_owned()),
        stars,
    }
}

struct RatingsQuery;

#[Object(name = "Query")]
impl RatingsQuery {
    /// Best first.
    async fn top_rated(&self) -> Vec<RatedMedia> {
        ["m1", "m2"].into_iter().map(rated).collect()
    }
    #[graphql(entity)]
    async fn find_media(&self, id: ID) -> RatedMedia {
        rated(&id)
    }
}

// ---- shelves: a union of the implementations ------------------------------------------

#[derive(SimpleObject)]
#[graphql(name = "Book")]
struct ShelfBook {
    id: ID,
    on_loan: bool,
}

#[derive(SimpleObject)]
#[graphql(name = "Movie")]
struct ShelfMovie {
    id: ID,
}

#[derive(Union)]
enum Recommendation {
    Book(ShelfBook),
    Movie(ShelfMovie),
}

struct ShelvesQuery;

#[Object(name = "Query")]
impl ShelvesQuery {
    /// A book, a gap where a withdrawn title was, and a movie.
    async fn recommendations(&self) -> Vec<Option<Recommendation>> {
        vec![
            Some(Recommendation::Book(ShelfBook {
                id: ID("m3".to_owned()),
                on_loan: true,
            })),
            None,
            Some(Recommendation::Movie(ShelfMovie {
                id: ID("m2".to_owned()),
            })),
        ]
    }
    #[graphql(entity)]
    async fn find_book(&self, id: ID) -> ShelfBook {
        let on_loan = id.as_str() == "m3";
        ShelfBook { id, on_loan }
    }
    #[graphql(entity)]
    async fn find_movie(&self, id: ID) -> ShelfMovie {
        ShelfMovie { id }
    }
}

async fn graph() -> Graph {
    Graph::start(vec![
        Subgraph::serve(
            "media",
            Schema::build(MediaQuery, EmptyMutation, EmptySubscription)
                .enable_federation()
                .finish(),
        )
        .await,
        Subgraph::serve(
            "ratings",
            Schema::build(RatingsQuery, EmptyMutation, EmptySubscription)
                .enable_federation()
                .finish(),
        )
        .await,
        Subgraph::serve(
            "shelves",
            Schema::build(ShelvesQuery, EmptyMutation, EmptySubscription)
                .enable_federation()
                .finish(),
        )
        .await,
    ])
    .await
}

#[tokio::test]
async fn abstract_types_resolve_by_runtime_type_across_subgraphs() {
    let graph = graph().await;
    graph
        .check(&[
            case(
                "an interface list tells each item's runtime type",
                "{ media { __typename id title } }",
                json!({ "data": { "media": [
                    { "__typename": "Book", "id": "m1", "title": "Dune" },
                    { "__typename": "Movie", "id": "m2", "title": "Alien" },
                    { "__typename": "Book", "id": "m3", "title": "Emma" },
                    { "__typename": "Movie", "id": "m4", "title": "Heat" },
                ] } }),
            ),
            case(
                "inline fragments select per implementation",
                "{ media { title ... on Book { pages } ... on Movie { minutes } } }",
                json!({ "data": { "media": [
                    { "title": "Dune", "pages": 412 },
                    { "title": "Alien", "minutes": 117 },
                    { "title": "Emma", "pages": 474 },
                    { "title": "Heat", "minutes": 170 },
                ] } }),
            ),
            case(
                "an interface object's field is added to every implementation",
                "{ media { id stars } }",
                json!({ "data": { "media": [
                    { "id": "m1", "stars": 5 },
                    { "id": "m2", "stars": 4 },
                    { "id": "m3", "stars": null },
                    { "id": "m4", "stars": 3 },
                ] } }),
            )
            .requests("ratings", 1),
            case(
                "an interface object's own fields need no other subgraph",
                "{ topRated { id stars } }",
                json!({ "data": { "topRated": [
                    { "id": "m1", "stars": 5 },
                    { "id": "m2", "stars": 4 },
                ] } }),
            )
            .requests("media", 0),
            case(
                "interface fields of an interface object come from the interface's subgraph",
                "{ topRated { stars title } }",
                json!({ "data": { "topRated": [
                    { "stars": 5, "title": "Dune" },
                    { "stars": 4, "title": "Alien" },
                ] } }),
            )
            .requests("media", 1),
            case(
                "the runtime type of an interface object is asked of the interface's subgraph",
                "{ topRated { __typename id } }",
                json!({ "data": { "topRated": [
                    { "__typename": "Book", "id": "m1" },
                    { "__typename": "Movie", "id": "m2" },
                ] } }),
            ),
            case(
                "fragments on implementations below an interface object",
                "{ topRated { ... on Movie { minutes } ... on Book { pages stars } } }",
                json!({ "data": { "topRated": [
                    { "pages": 412, "stars": 5 },
                    { "minutes": 117 },
                ] } }),
            ),
            case(
                "a union list with a null keeps the null and resolves each member",
                "{ recommendations { __typename ... on Book { title onLoan } ... on Movie { title minutes } } }",
                json!({ "data": { "recommendations": [
                    { "__typename": "Book", "title": "Emma", "onLoan": true },
                    null,
                    { "__typename": "Movie", "title": "Alien", "minutes": 117 },
                ] } }),
            ),
            case(
                "a fragment on an interface inside a union reaches the interface object",
                "{ recommendations { ... on Media { title stars } } }",
                json!({ "data": { "recommendations": [
                    { "title": "Emma", "stars": null },
                    null,
                    { "title": "Alien", "stars": 4 },
                ] } }),
            )
            .requests("shelves", 1)
            .requests("media", 1)
            .requests("ratings", 1),
            case(
                "__typename alone on a union needs only the union's subgraph",
                "{ recommendations { __typename } }",
                json!({ "data": { "recommendations": [
                    { "__typename": "Book" }, null, { "__typename": "Movie" },
                ] } }),
            )
            .requests("media", 0),
            case(
                "named fragments on an interface and an implementation",
                r#"query { mediaItem(id: "m4") { ...Item } }
                   fragment Item on Media { title ...Film }
                   fragment Film on Movie { minutes stars }"#,
                json!({ "data": { "mediaItem": { "title": "Heat", "minutes": 170, "stars": 3 } } }),
            ),
            case(
                "a field only one implementation has elsewhere is fetched for that type only",
                "{ media { id ... on Book { onLoan } } }",
                json!({ "data": { "media": [
                    { "id": "m1", "onLoan": false },
                    { "id": "m2" },
                    { "id": "m3", "onLoan": true },
                    { "id": "m4" },
                ] } }),
            )
            .requests("shelves", 1),
            case(
                "an interface root field returning null",
                r#"{ mediaItem(id: "m9") { title stars } }"#,
                json!({ "data": { "mediaItem": null } }),
            )
            .requests("ratings", 0),
            case(
                "__typename of the root type and of an interface item side by side",
                r#"{ __typename mediaItem(id: "m1") { __typename } }"#,
                json!({ "data": { "__typename": "Query", "mediaItem": { "__typename": "Book" } } }),
            ),
        ])
        .await;
}
