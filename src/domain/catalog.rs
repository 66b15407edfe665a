//! How the catalogue names a title: the key title-level holds match copies by.

/// Title-level holds name the title by ISBN, or by title and author when
/// the item has none.
pub fn title_key(isbn: Option<&str>, title: &str, author: &str) -> String {
    match isbn.map(str::trim).filter(|s| !s.is_empty()) {
        Some(isbn) => format!("isbn:{isbn}"),
        None => format!(
            "title:{}|{}",
            title.trim().to_lowercase(),
            author.trim().to_lowercase()
        ),
    }
}
