fn main() {
    let _ = async {
        let ch = gpm::chan::<u32>(1);
        gpm::select! {
            recieve(ch) -> v => drop(v),
        }
    };
}
