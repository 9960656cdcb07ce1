//! Enums and input types that differ between subgraphs: an output enum whose values
//! are the union of both subgraphs', an input enum and an input object whose values
//! and fields are their intersection, in literals and in variables. 12 operations.

use async_graphql::{EmptyMutation, EmptySubscription, Enum, ID, InputObject, Object, Schema};
use serde_json::json;

use crate::harness::{Graph, Subgraph, case};

// ---- shop ---------------------------------------------------------------------------

/// shop's colours (output only): the API has the union of both subgraphs'.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "Color")]
enum ShopColor {
    Red,
    Green,
    Blue,
}

/// shop's sizes (input only): the API has the values both subgraphs accept.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "Size")]
enum ShopSize {
    S,
    M,
    L,
}

/// shop's filter: the API has the fields both subgraphs accept.
#[derive(InputObject)]
#[graphql(name = "ItemFilter")]
struct ShopFilter {
    size: Option<ShopSize>,
    min_stock: Option<i32>,
    on_sale: Option<bool>,
}

/// (id, name, colour, size, stock)
const ITEMS: [(&str, &str, ShopColor, ShopSize, i32); 3] = [
    ("i1", "Scarf", ShopColor::Red, ShopSize::S, 5),
    ("i2", "Coat", ShopColor::Blue, ShopSize::M, 0),
    ("i3", "Cape", ShopColor::Green, ShopSize::L, 2),
];

struct Item(&'static (&'static str, &'static str, ShopColor, ShopSize, i32));

#[Object]
impl Item {
    async fn id(&self) -> ID {
        ID(self.0.0.to_owned())
    }
    async fn name(&self) -> &str {
        self.0.1
    }
    async fn color(&self) -> ShopColor {
        self.0.2
    }
}

struct ShopQuery;

#[Object(name = "Query")]
impl ShopQuery {
    async fn items(&self, filter: Option<ShopFilter>) -> Vec<Item> {
        ITEMS
            .iter()
            .filter(|item| {
                filter.as_ref().is_none_or(|f| {
                    f.size.is_none_or(|size| size == item.3)
                        && f.min_stock.is_none_or(|min| item.4 >= min)
                        && f.on_sale.is_none_or(|on_sale| on_sale == (item.0 == "i2"))
                })
            })
            .map(Item)
            .collect()
    }
}

// ---- warehouse ----------------------------------------------------------------------

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "Color")]
enum WarehouseColor {
    Red,
    Green,
    Yellow,
}

#[derive(Enum, Clone, Copy, PartialEq, Eq)]
#[graphql(name = "Size")]
enum WarehouseSize {
    S,
    M,
    Xl,
}

#[derive(InputObject)]
#[graphql(name = "ItemFilter")]
struct WarehouseFilter {
    size: Option<WarehouseSize>,
    min_stock: Option<i32>,
    location: Option<String>,
}

/// (bin, location, colour, size, quantity)
const BINS: [(&str, &str, WarehouseColor, WarehouseSize, i32); 3] = [
    ("b1", "Leeds", WarehouseColor::Yellow, WarehouseSize::S, 7),
    ("b2", "Derby", WarehouseColor::Red, WarehouseSize::M, 1),
    ("b3", "Leeds", WarehouseColor::Green, WarehouseSize::Xl, 3),
];

struct Bin(
    &'static (
        &'static str,
        &'static str,
        WarehouseColor,
        WarehouseSize,
        i32,
    ),
);

#[Object]
impl Bin {
    async fn id(&self) -> ID {
        ID(self.0.0.to_owned())
    }
    async fn location(&self) -> &str {
        self.0.1
    }
    async fn color(&self) -> WarehouseColor {
        self.0.2
    }
    async fn quantity(&self) -> i32 {
        self.0.4
    }
}

struct WarehouseQuery;

#[Object(name = "Query")]
impl WarehouseQuery {
    async fn stock(&self, filter: Option<WarehouseFilter>) -> Vec<Bin> {
        BINS.iter()
            .filter(|bin| {
                filter.as_ref().is_none_or(|f| {
                    f.size.is_none_or(|size| size == bin.3)
                        && f.min_stock.is_none_or(|min| bin.4 >= min)
                        && f.location.as_deref().is_none_or(|at| at == bin.1)
                })
            })
            .map(Bin)
            .collect()
    }
}

async fn graph() -> Graph {
    Graph::start(vec![
        Subgraph::serve(
            "shop",
            Schema::build(ShopQuery, EmptyMutation, EmptySubscription)
                .enable_federation()
                .finish(),
        )
        .await,
        Subgraph::serve(
            "warehouse",
            Schema::build(WarehouseQuery, EmptyMutation, EmptySubscription)
                .enable_federation()
                .finish(),
        )
        .await,
    ])
    .await
}

fn bad_input(message: &str) -> serde_json::Value {
    json!({ "errors": [{ "message": message, "extensions": { "code": "BAD_USER_INPUT" } }] })
}

fn refused(message: &str) -> serde_json::Value {
    json!({ "errors": [{
        "message": message,
        "extensions": { "code": "GRAPHQL_VALIDATION_FAILED" },
    }] })
}

#[tokio::test]
async fn enums_and_inputs_that_differ_between_subgraphs_follow_the_merged_api() {
    let graph = graph().await;
    let both = "query ($f: ItemFilter) { items(filter: $f) { name } stock(filter: $f) { id } }";
    graph
        .check(&[
            case(
                "output enum values of one subgraph",
                "{ items { name color } }",
                json!({ "data": { "items": [
                    { "name": "Scarf", "color": "RED" },
                    { "name": "Coat", "color": "BLUE" },
                    { "name": "Cape", "color": "GREEN" },
                ] } }),
            ),
            case(
                "output enum values only the other subgraph has",
                "{ stock { location color quantity } }",
                json!({ "data": { "stock": [
                    { "location": "Leeds", "color": "YELLOW", "quantity": 7 },
                    { "location": "Derby", "color": "RED", "quantity": 1 },
                    { "location": "Leeds", "color": "GREEN", "quantity": 3 },
                ] } }),
            ),
            case(
                "an input enum value both subgraphs accept, in a literal",
                "{ items(filter: { size: S }) { name } stock(filter: { size: S }) { id } }",
                json!({ "data": { "items": [{ "name": "Scarf" }], "stock": [{ "id": "b1" }] } }),
            ),
            case(
                "an input enum value only one subgraph accepts is refused in a literal",
                "{ items(filter: { size: L }) { name } }",
                refused(r#"Value "L" does not exist in "Size" enum."#),
            )
            .requests("shop", 0),
            case(
                "an input field only one subgraph accepts is refused in a literal",
                "{ items(filter: { onSale: true }) { name } }",
                refused(r#"Field "onSale" is not defined by type "ItemFilter"."#),
            ),
            case(
                "one input object variable feeds both subgraphs",
                both,
                json!({ "data": { "items": [{ "name": "Coat" }], "stock": [{ "id": "b2" }] } }),
            )
            .variables(json!({ "f": { "size": "M", "minStock": 0 } })),
            case(
                "an input enum value only one subgraph accepts is refused in a variable",
                both,
                bad_input(
                    r#"Variable "$f" got invalid value {"size":"L"} at "f.size"; Value "L" does not exist in "Size" enum."#,
                ),
            )
            .variables(json!({ "f": { "size": "L" } }))
            .requests("shop", 0)
            .requests("warehouse", 0),
            case(
                "an input field only one subgraph accepts is refused in a variable",
                both,
                bad_input(
                    r#"Variable "$f" got invalid value {"location":"Leeds"}; Field "location" is not defined by type "ItemFilter"."#,
                ),
            )
            .variables(json!({ "f": { "location": "Leeds" } }))
            .requests("warehouse", 0),
            case(
                "a variable of the wrong scalar type is refused",
                both,
                bad_input(
                    r#"Variable "$f" got invalid value {"minStock":"many"} at "f.minStock"; Int cannot represent value: "many""#,
                ),
            )
            .variables(json!({ "f": { "minStock": "many" } })),
            case(
                "an enum variable's default is used",
                "query ($s: Size = M) { items(filter: { size: $s }) { name } }",
                json!({ "data": { "items": [{ "name": "Coat" }] } }),
            ),
            case(
                "introspection shows the merged enums",
                r#"{ size: __type(name: "Size") { enumValues { name } }
                     color: __type(name: "Color") { enumValues { name } } }"#,
                json!({ "data": {
                    "size": { "enumValues": [{ "name": "S" }, { "name": "M" }] },
                    "color": { "enumValues": [
                        { "name": "RED" }, { "name": "GREEN" }, { "name": "BLUE" }, { "name": "YELLOW" },
                    ] },
                } }),
            ),
            case(
                "introspection shows the merged input object",
                r#"{ __type(name: "ItemFilter") { inputFields { name type { name } } } }"#,
                json!({ "data": { "__type": { "inputFields": [
                    { "name": "size", "type": { "name": "Size" } },
                    { "name": "minStock", "type": { "name": "Int" } },
                ] } } }),
            ),
        ])
        .await;
}
