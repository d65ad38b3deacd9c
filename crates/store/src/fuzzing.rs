//! Entry points for the fuzz targets (`fuzz/store`) and the corpus replay
//! (`tests/fuzz_corpus.rs`): each runs one parser over arbitrary bytes and
//! checks what must hold whatever the input.

use crate::backup::{MAX_ROW_KEY, MAX_ROW_VALUE, ROWS_MAGIC, RowReader, write_row};

/// A backup's metadata dump (`restore` reads it): never a panic, every
/// row within the limits, nothing after an error, and the rows read
/// written again give back the bytes they came from.
pub fn backup_rows(data: &[u8]) {
    let Ok(reader) = RowReader::new(data) else {
        assert!(!data.starts_with(ROWS_MAGIC));
        return;
    };
    let mut again = ROWS_MAGIC.to_vec();
    let mut failed = false;
    for row in reader {
        assert!(!failed, "a row after an error");
        match row {
            Ok((k, v)) => {
                assert!(k.len() <= MAX_ROW_KEY && v.len() <= MAX_ROW_VALUE);
                write_row(&mut again, &k, &v).expect("within the limits");
            }
            Err(_) => failed = true,
        }
    }
    assert!(data.starts_with(&again));
    assert!(failed || again.len() == data.len());
}
