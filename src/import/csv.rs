#[cfg(test)]
mod tests {
    #[test]
    fn bench_phone() {
        use crate::domain::{PhoneNumber, EmailAddress};
        let t = std::time::Instant::now();
        let mut ok = 0;
        for i in 0..100_000u32 {
            let raw = format!("0471 {:02} {:02} {:02}", i % 100, (i / 100) % 100, (i / 10000) % 100);
            if PhoneNumber::parse(&raw, None).is_ok() { ok += 1; }
        }
        eprintln!("phones {ok} {:?}", t.elapsed());
        let t = std::time::Instant::now();
        for i in 0..100_000u32 {
            let raw = format!("jan.peeters{i}@example.be");
            EmailAddress::parse(&raw).unwrap();
        }
        eprintln!("emails {:?}", t.elapsed());
    }
}
