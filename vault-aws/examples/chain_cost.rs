//! What choosing a credential source costs a cold process: runs the default chain's choice
//! (environment, then the shared config and credentials files, …) once cold and 1,000 times
//! warm, and prints which source won. No network call is made.
//!
//! ```sh
//! env -i HOME=/path/with/.aws cargo run --release -p vault-aws --example chain_cost
//! ```

use std::time::Instant;

use vault_aws::CredentialSource;
use vault_core::ProcessEnv;

fn main() {
    let chain = CredentialSource::default_chain();
    let started = Instant::now();
    let won = chain.describe(&ProcessEnv);
    let cold = started.elapsed();
    let started = Instant::now();
    for _ in 0..1000 {
        let _ = chain.describe(&ProcessEnv);
    }
    let warm = started.elapsed() / 1000;
    match won {
        Ok(source) => println!("source: {source}"),
        Err(e) => println!("no source: {e}"),
    }
    println!("cold: {cold:?}, warm (mean of 1000): {warm:?}");
}
