//! Webhook delivery under crashes and sharing: kill -9 in the middle of delivery, two servers on one database.
