//! skyforge-state tests that need no network: locks on tokio's paused clock, the document's
//! schema and integrity, the file lock and store, journaled runs, the DynamoDB lock against
//! mocked AWS answers.

mod document;
mod locks;
mod mocks;
mod runs;
