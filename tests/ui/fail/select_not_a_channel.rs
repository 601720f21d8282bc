fn main() {
    let _ = async {
        let ch = gpm::chan::<u32>(1);
        gpm::select! {
            recv(ch) -> v => drop(v),
            recv(42) -> v => drop(v),
            send(ch, "text") -> res => drop(res),
        }
    };
}
