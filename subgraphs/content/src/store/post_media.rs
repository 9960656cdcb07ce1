//! The media a post shows, in the order the author gave them.

use std::collections::HashMap;
use std::sync::Arc;

use agora_kit::db::in_list;
use async_graphql::dataloader::Loader;
use sea_orm::entity::prelude::*;
use sea_orm::{ActiveValue::Set, ConnectionTrait, DatabaseConnection, QueryFilter, QueryOrder};

/// A (post, position, media) row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "post_media")]
pub struct Model {
    /// The post.
    #[sea_orm(primary_key, auto_increment = false)]
    pub post_id: Uuid,
    /// Its place among the post's media, from 0.
    #[sea_orm(primary_key, auto_increment = false)]
    pub position: i32,
    /// The media object (media's id).
    pub media_id: Uuid,
}

/// No relations are navigated through sea-orm.
#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

/// Attaches `media` to a new post, in order.
#[tracing::instrument(skip_all, fields(media = media.len()))]
pub async fn insert(conn: &impl ConnectionTrait, post: Uuid, media: &[Uuid]) -> Result<(), DbErr> {
    if media.is_empty() {
        return Ok(());
    }
    let rows = media
        .iter()
        .zip(0..)
        .map(|(&media_id, position)| ActiveModel {
            post_id: Set(post),
            position: Set(position),
            media_id: Set(media_id),
        });
    Entity::insert_many(rows)
        .exec_without_returning(conn)
        .await?;
    Ok(())
}

/// Detaches the media of the given posts.
#[tracing::instrument(skip_all, fields(posts = posts.len()))]
pub async fn delete_for_posts(conn: &impl ConnectionTrait, posts: &[Uuid]) -> Result<(), DbErr> {
    Entity::delete_many()
        .filter(Column::PostId.is_in(posts.iter().copied()))
        .exec(conn)
        .await?;
    Ok(())
}

/// Detaches a deleted media object from every post.
#[tracing::instrument(skip_all)]
pub async fn delete_media(conn: &impl ConnectionTrait, media: Uuid) -> Result<(), DbErr> {
    Entity::delete_many()
        .filter(Column::MediaId.eq(media))
        .exec(conn)
        .await?;
    Ok(())
}

/// Loads the media of posts, in order: one statement per batch.
pub struct PostMediaLoader(pub DatabaseConnection);

impl Loader<Uuid> for PostMediaLoader {
    type Value = Vec<Uuid>;
    type Error = Arc<DbErr>;

    async fn load(&self, posts: &[Uuid]) -> Result<HashMap<Uuid, Vec<Uuid>>, Self::Error> {
        let rows = Entity::find()
            .filter(Column::PostId.is_in(in_list(posts.iter().copied())))
            .order_by_asc(Column::PostId)
            .order_by_asc(Column::Position)
            .all(&self.0)
            .await
            .map_err(Arc::new)?;
        let mut media: HashMap<Uuid, Vec<Uuid>> = HashMap::new();
        for row in rows {
            media.entry(row.post_id).or_default().push(row.media_id);
        }
        Ok(media)
    }
}
