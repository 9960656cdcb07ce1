//! `@requires` (of a plain field and of a field with arguments, on fields with and
//! without arguments of their own), `@provides` and `@external`. 14 operations.

use async_graphql::{
    EmptyMutation, EmptySubscription, ErrorExtensions, ID, Object, Result, Schema,
};
use serde_json::json;

use crate::harness::{Graph, Subgraph, case};

/// (id, name, weight, price in EUR); `p3`'s scale is broken, `p4` weighs nothing known.
const PRODUCTS: [(&str, &str, Option<f64>, f64); 4] = [
    ("p1", "Lamp", Some(2.0), 10.0),
    ("p2", "Desk", Some(30.0), 200.0),
    ("p3", "Rug", None, 50.0),
    ("p4", "Gift card", None, 25.0),
];

fn product_row(id: &str) -> Option<&'static (&'static str, &'static str, Option<f64>, f64)> {
    PRODUCTS.iter().find(|p| p.0 == id)
}

/// The currencies prices are given in; an enum so that `@requires` can name one.
#[derive(async_graphql::Enum, Clone, Copy, PartialEq, Eq)]
enum Currency {
    #[graphql(name = "EUR")]
    Eur,
    #[graphql(name = "USD")]
    Usd,
}

// ---- products: names, weights, prices ---------------------------------------------

struct Product(&'static (&'static str, &'static str, Option<f64>, f64));

#[Object]
impl Product {
    async fn id(&self) -> ID {
        ID(self.0.0.to_owned())
    }
    #[graphql(shareable)]
    async fn name(&self) -> &str {
        self.0.1
    }
    async fn weight(&self) -> Result<Option<f64>> {
        if self.0.0 == "p3" {
            return Err(async_graphql::Error::new("The scale is broken")
                .extend_with(|_, e| e.set("code", "SCALE_BROKEN")));
        }
        Ok(self.0.2)
    }
    async fn price(
        &self,
        #[graphql(default_with = "Currency::Eur")] currency: Currency,
    ) -> Option<f64> {
        match currency {
            Currency::Eur => Some(self.0.3),
            Currency::Usd => Some(self.0.3 * 1.5),
        }
    }
}

struct ProductsQuery;

#[Object(name = "Query")]
impl ProductsQuery {
    async fn products(&self) -> Vec<Product> {
        PRODUCTS.iter().map(Product).collect()
    }
    async fn product(&self, id: ID) -> Option<Product> {
        product_row(&id).map(Product)
    }
    #[graphql(entity)]
    async fn find_product(&self, id: ID) -> Option<Product> {
        product_row(&id).map(Product)
    }
}

// ---- shipping: costs computed from fields it requires ------------------------------

struct ShippingProduct {
    id: ID,
    weight: Option<f64>,
    usd: Option<f64>,
}

#[Object(name = "Product")]
impl ShippingProduct {
    async fn id(&self) -> &ID {
        &self.id
    }
    #[graphql(external)]
    async fn weight(&self) -> Option<f64> {
        self.weight
    }
    #[graphql(external)]
    async fn price(
        &self,
        #[graphql(default_with = "Currency::Eur")] _currency: Currency,
    ) -> Option<f64> {
        None
    }
    #[graphql(requires = "weight")]
    async fn shipping_cost(&self) -> Option<f64> {
        self.weight.map(|weight| weight * 1.5)
    }
    /// A field with an argument of its own that requires another.
    #[graphql(requires = "weight")]
    async fn estimate(&self, zip: String) -> Option<String> {
        let days = if self.weight? < 10.0 { 2 } else { 5 };
        Some(format!("{days} days to {zip}"))
    }
    /// Requires a field with an argument.
    #[graphql(requires = "price(currency: USD)")]
    async fn price_label(&self) -> Option<String> {
        self.usd.map(|usd| format!("${usd:.2}"))
    }
}

struct ShippingQuery;

#[Object(name = "Query")]
impl ShippingQuery {
    #[graphql(entity)]
    async fn find_product(
        &self,
        #[graphql(key)] id: ID,
        weight: Option<f64>,
        price: Option<f64>,
    ) -> ShippingProduct {
        ShippingProduct {
            id,
            weight,
            usd: price,
        }
    }
}

// ---- reviews: reviews that provide their product's name ----------------------------

/// (id, body, product id)
const REVIEWS: [(&str, &str, &str); 3] = [
    ("r1", "Bright", "p1"),
    ("r2", "Sturdy", "p2"),
    ("r3", "Soft", "p3"),
];

struct Review(&'static (&'static str, &'static str, &'static str));

#[Object]
impl Review {
    async fn id(&self) -> ID {
        ID(self.0.0.to_owned())
    }
    async fn body(&self) -> &str {
        self.0.1
    }
    #[graphql(provides = "name")]
    async fn product(&self) -> ReviewedProduct {
        ReviewedProduct {
            id: ID(self.0.2.to_owned()),
        }
    }
}

struct ReviewedProduct {
    id: ID,
}

#[Object(name = "Product")]
impl ReviewedProduct {
    async fn id(&self) -> &ID {
        &self.id
    }
    /// Provided on `Review.product`, so reviews answers it there.
    #[graphql(external)]
    async fn name(&self) -> Option<&str> {
        product_row(&self.id).map(|p| p.1)
    }
    async fn reviews(&self) -> Vec<Review> {
        REVIEWS
            .iter()
            .filter(|r| r.2 == self.id.as_str())
            .map(Review)
            .collect()
    }
}

struct ReviewsQuery;

#[Object(name = "Query")]
impl ReviewsQuery {
    async fn reviews(&self) -> Vec<Review> {
        REVIEWS.iter().map(Review).collect()
    }
    #[graphql(entity)]
    async fn find_product(&self, id: ID) -> ReviewedProduct {
        ReviewedProduct { id }
    }
}

async fn graph() -> Graph {
    Graph::start(vec![
        Subgraph::serve(
            "products",
            Schema::build(ProductsQuery, EmptyMutation, EmptySubscription)
                .enable_federation()
                .finish(),
        )
        .await,
        Subgraph::serve(
            "shipping",
            Schema::build(ShippingQuery, EmptyMutation, EmptySubscription)
                .enable_federation()
                .finish(),
        )
        .await,
        Subgraph::serve(
            "reviews",
            Schema::build(ReviewsQuery, EmptyMutation, EmptySubscription)
                .enable_federation()
                .finish(),
        )
        .await,
    ])
    .await
}

#[tokio::test]
async fn required_fields_are_fetched_first_and_provided_fields_are_not_fetched_again() {
    let graph = graph().await;
    graph
        .check(&[
            case(
                "a required field is fetched from its owner before the requiring field",
                r#"{ product(id: "p1") { name shippingCost } }"#,
                json!({ "data": { "product": { "name": "Lamp", "shippingCost": 3.0 } } }),
            )
            .requests("products", 1)
            .requests("shipping", 1),
            case(
                "a required field the client did not select stays out of the response",
                "{ products { shippingCost } }",
                json!({
                    "data": { "products": [
                        { "shippingCost": 3.0 },
                        { "shippingCost": 45.0 },
                        { "shippingCost": null },
                        { "shippingCost": null },
                    ] },
                    "errors": [{
                        "message": "The scale is broken",
                        "path": ["products", 2, "weight"],
                        "extensions": { "code": "SCALE_BROKEN" },
                    }],
                }),
            ),
            case(
                "a required field the client also selects under an alias appears once, aliased",
                r#"{ product(id: "p2") { w: weight shippingCost } }"#,
                json!({ "data": { "product": { "w": 30.0, "shippingCost": 45.0 } } }),
            ),
            case(
                "a requiring field takes its own argument from a variable",
                r#"query ($zip: String!) { product(id: "p1") { estimate(zip: $zip) } }"#,
                json!({ "data": { "product": { "estimate": "2 days to 75001" } } }),
            )
            .variables(json!({ "zip": "75001" })),
            case(
                "a requiring field selected twice with different arguments is answered per alias",
                r#"{ product(id: "p2") { here: estimate(zip: "10115") there: estimate(zip: "75001") } }"#,
                json!({ "data": { "product": {
                    "here": "5 days to 10115",
                    "there": "5 days to 75001",
                } } }),
            ),
            case(
                "a required field with arguments is fetched with those arguments",
                r#"{ product(id: "p1") { priceLabel } }"#,
                json!({ "data": { "product": { "priceLabel": "$15.00" } } }),
            ),
            case(
                "the client's own arguments and the required ones do not mix",
                "{ products { price priceLabel } }",
                json!({ "data": { "products": [
                    { "price": 10.0, "priceLabel": "$15.00" },
                    { "price": 200.0, "priceLabel": "$300.00" },
                    { "price": 50.0, "priceLabel": "$75.00" },
                    { "price": 25.0, "priceLabel": "$37.50" },
                ] } }),
            ),
            case(
                "the same field with two arguments under two aliases",
                r#"{ product(id: "p4") { usd: price(currency: USD) eur: price(currency: EUR) } }"#,
                json!({ "data": { "product": { "usd": 37.5, "eur": 25.0 } } }),
            ),
            case(
                "a provided field is answered by the providing subgraph alone",
                "{ reviews { body product { id name } } }",
                json!({ "data": { "reviews": [
                    { "body": "Bright", "product": { "id": "p1", "name": "Lamp" } },
                    { "body": "Sturdy", "product": { "id": "p2", "name": "Desk" } },
                    { "body": "Soft", "product": { "id": "p3", "name": "Rug" } },
                ] } }),
            )
            .requests("reviews", 1)
            .requests("products", 0),
            case(
                "a field next to a provided one is fetched from its owner",
                r#"{ reviews { product { name price } } }"#,
                json!({ "data": { "reviews": [
                    { "product": { "name": "Lamp", "price": 10.0 } },
                    { "product": { "name": "Desk", "price": 200.0 } },
                    { "product": { "name": "Rug", "price": 50.0 } },
                ] } }),
            )
            .requests("products", 1),
            case(
                "requires across three subgraphs: reviews, products for the weight, shipping",
                "{ reviews { product { shippingCost } } }",
                json!({
                    "data": { "reviews": [
                        { "product": { "shippingCost": 3.0 } },
                        { "product": { "shippingCost": 45.0 } },
                        { "product": { "shippingCost": null } },
                    ] },
                    "errors": [{
                        "message": "The scale is broken",
                        "path": ["reviews", 2, "product", "weight"],
                        "extensions": { "code": "SCALE_BROKEN" },
                    }],
                }),
            )
            .requests("reviews", 1)
            .requests("products", 1)
            .requests("shipping", 1),
            case(
                "a provided field is not provided outside the providing path",
                r#"{ product(id: "p1") { reviews { body product { name } } } }"#,
                json!({ "data": { "product": { "reviews": [
                    { "body": "Bright", "product": { "name": "Lamp" } },
                ] } } }),
            ),
            case(
                "an error in an owned field keeps its path and its code",
                "{ products { id weight } }",
                json!({
                    "data": { "products": [
                        { "id": "p1", "weight": 2.0 },
                        { "id": "p2", "weight": 30.0 },
                        { "id": "p3", "weight": null },
                        { "id": "p4", "weight": null },
                    ] },
                    "errors": [{
                        "message": "The scale is broken",
                        "path": ["products", 2, "weight"],
                        "extensions": { "code": "SCALE_BROKEN" },
                    }],
                }),
            ),
            case(
                "an external field cannot be resolved from the subgraph that only references it",
                r#"{ product(id: "p4") { name weight estimate(zip: "1") } }"#,
                json!({ "data": { "product": { "name": "Gift card", "weight": null, "estimate": null } } }),
            )
            .requests("products", 1)
            .requests("shipping", 1),
        ])
        .await;
}
