//! The client side of the WebRTC session against the server side, on
//! loopback UDP: the offer/answer exchange, ICE (client controlling),
//! DTLS-SRTP, and media both ways — H.264 access units and Opus packets
//! arrive as the RTP payloads that were sent, and a PLI becomes a keyframe
//! request on the other side.

use std::net::UdpSocket;
use std::time::{Duration, Instant};

use mcu_signalling::webrtc::{
    ClientSession, ClientSessionConfig, ServerSession, ServerSessionConfig, SessionEvent,
};

#[allow(clippy::disallowed_methods)] // the test is the I/O loop
fn now() -> Instant {
    Instant::now()
}

fn pump<R>(s: &mut mcu_signalling::webrtc::Session<R>, sock: &UdpSocket, buf: &mut [u8]) {
    let t = now();
    while let Ok((n, from)) = sock.recv_from(buf) {
        s.handle_receive(t, from, &buf[..n])
            .expect("handle_receive");
    }
    if s.poll_timeout().is_some_and(|d| d <= t) {
        s.handle_timeout(t).expect("handle_timeout");
    }
    while let Some((to, bytes)) = s.poll_transmit() {
        let _ = sock.send_to(&bytes, to);
    }
}

#[test]
fn client_offers_server_answers_and_media_flows_both_ways() {
    let cs = UdpSocket::bind("127.0.0.1:0").unwrap();
    let ss = UdpSocket::bind("127.0.0.1:0").unwrap();
    cs.set_nonblocking(true).unwrap();
    ss.set_nonblocking(true).unwrap();
    let t0 = now();
    let mut client =
        ClientSession::new(t0, ClientSessionConfig::new(cs.local_addr().unwrap(), 1)).unwrap();
    // The server also advertises a public address (TEST-NET-1, unreachable
    // here): the answer carries it, and the session still connects over the
    // reachable host candidate.
    let public: std::net::IpAddr = "192.0.2.7".parse().unwrap();
    let server_config =
        ServerSessionConfig::new(ss.local_addr().unwrap(), 2).with_public_ip(Some(public));
    let mut server = ServerSession::new(t0, server_config).unwrap();
    let offer = client.create_offer(t0).unwrap();
    assert!(offer.contains("UDP/TLS/RTP/SAVPF"), "{offer}");
    assert!(offer.contains("packetization-mode=1"), "{offer}");
    assert!(offer.contains("a=group:BUNDLE"), "{offer}");
    assert!(offer.contains("a=rtcp-mux"), "{offer}");
    assert!(offer.contains("typ host"), "{offer}");
    let answer = server.accept_offer(t0, &offer).unwrap();
    let public_candidate = format!("192.0.2.7 {} typ host", ss.local_addr().unwrap().port());
    assert!(answer.contains(&public_candidate), "{answer}");
    client.accept_answer(t0, &answer).unwrap();
    assert!(
        client.accept_answer(t0, &answer).is_err(),
        "one answer per offer"
    );

    let au = [
        0u8, 0, 0, 1, 0x67, 0x42, 0xe0, 0x1f, 0, 0, 0, 1, 0x65, 0x88, 0x84, 0x21,
    ];
    let mut buf = vec![0u8; 2048];
    let (mut c_conn, mut s_conn) = (false, false);
    let (mut s_video, mut s_audio, mut c_video, mut c_audio) = (0, 0, 0, 0);
    let (mut s_kf, mut c_kf) = (false, false);
    let mut ts = 0u32;
    let deadline = now() + Duration::from_secs(10);
    while now() < deadline
        && !(s_video > 5 && s_audio > 5 && c_video > 5 && c_audio > 5 && s_kf && c_kf)
    {
        pump(&mut client, &cs, &mut buf);
        pump(&mut server, &ss, &mut buf);
        while let Some(e) = client.poll_event() {
            match e {
                SessionEvent::Connected => c_conn = true,
                SessionEvent::VideoRtp(p) if !p.payload.is_empty() => c_video += 1,
                SessionEvent::AudioRtp(p) if p.payload == [0xfc, 1, 2] => c_audio += 1,
                SessionEvent::KeyframeRequested => c_kf = true,
                _ => {}
            }
        }
        while let Some(e) = server.poll_event() {
            match e {
                SessionEvent::Connected => s_conn = true,
                SessionEvent::VideoRtp(p) if !p.payload.is_empty() => s_video += 1,
                SessionEvent::AudioRtp(p) if p.payload == [0xfc, 1, 2] => s_audio += 1,
                SessionEvent::KeyframeRequested => s_kf = true,
                _ => {}
            }
        }
        if c_conn && s_conn {
            let t = now();
            ts = ts.wrapping_add(3000);
            client.send_video_access_unit(t, &au, ts).unwrap();
            server.send_video_access_unit(t, &au, ts).unwrap();
            client.send_audio(t, &[0xfc, 1, 2], ts).unwrap();
            server.send_audio(t, &[0xfc, 1, 2], ts).unwrap();
            if s_video > 0 {
                server.request_keyframe(t).unwrap();
            }
            if c_video > 0 {
                client.request_keyframe(t).unwrap();
            }
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    assert!(
        c_conn && s_conn,
        "connected: client {c_conn}, server {s_conn}"
    );
    assert!(
        s_video > 5 && s_audio > 5,
        "server got video {s_video}, audio {s_audio}"
    );
    assert!(
        c_video > 5 && c_audio > 5,
        "client got video {c_video}, audio {c_audio}"
    );
    assert!(
        s_kf && c_kf,
        "keyframe requests: server {s_kf}, client {c_kf}"
    );
    assert_eq!(
        client.dropped_unvalidated() + server.dropped_unvalidated(),
        0
    );
    // Both sides measured the path's round trip (loopback: well under 100 ms).
    for rtt in [client.round_trip_time(now()), server.round_trip_time(now())] {
        let rtt = rtt.expect("a round-trip time from the ICE checks");
        assert!(rtt < Duration::from_millis(100), "{rtt:?}");
    }
}

#[test]
fn trickled_candidates_need_an_offer_and_are_bounded() {
    use mcu_signalling::webrtc::MAX_REMOTE_CANDIDATES;
    let t0 = now();
    let addr = |port: u16| std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let mut client = ClientSession::new(t0, ClientSessionConfig::new(addr(9), 1)).unwrap();
    let mut server = ServerSession::new(t0, ServerSessionConfig::new(addr(10), 2)).unwrap();
    let candidate = |port: u16| format!("candidate:1 1 udp 2130706431 127.0.0.1 {port} typ host");
    assert!(
        server.add_remote_candidate(&candidate(1000), None).is_err(),
        "no offer yet"
    );
    server
        .accept_offer(t0, &client.create_offer(t0).unwrap())
        .unwrap();
    assert!(
        server.add_remote_candidate("", None).is_ok(),
        "end of gathering"
    );
    assert!(
        server
            .add_remote_candidate("candidate:garbage", None)
            .is_err(),
        "unparsable"
    );
    for i in 0..MAX_REMOTE_CANDIDATES as u16 {
        server
            .add_remote_candidate(&format!("a={}", candidate(1001 + i)), None)
            .unwrap();
    }
    assert!(
        server.add_remote_candidate(&candidate(2000), None).is_err(),
        "bounded"
    );
}
