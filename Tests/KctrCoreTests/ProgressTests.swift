@testable import KctrCore
import XCTest

/// The one progress line of import, export and pull: bar, percentage, bytes, rate, time left,
/// image n of m and the step, cut to the terminal's width.
final class ProgressTests: XCTestCase {
    func testLineShowsBarRateTimeLeftImageAndStep() {
        let p = ProgressState(now: 100)
        p.apply(.job(bytes: 100 << 20, images: 3))
        p.apply(.bytes(25 << 20))
        p.apply(.image(index: 2, name: "docker.io/library/busybox:1.36"))
        p.apply(.step("unpacking layer 1/2 0123456789ab"))
        // 25 MiB in 5 s: 5 MiB/s, 75 MiB left: 15 s.
        XCTAssertEqual(p.line(now: 105, width: 0, bar: true),
                       "[=====>              ]   25%  25.0 MiB/100.0 MiB  5.0 MiB/s  0:15 left  image 2/3 docker.io/library/busybox:1.36  unpacking layer 1/2 0123456789ab")
        XCTAssertEqual(p.line(now: 105, width: 0, bar: false),
                       " 25%  25.0 MiB/100.0 MiB  5.0 MiB/s  0:15 left  image 2/3 docker.io/library/busybox:1.36  unpacking layer 1/2 0123456789ab")
        XCTAssertEqual(p.line(now: 105, width: 30, bar: true).count, 30)
        XCTAssertTrue(p.line(now: 105, width: 30, bar: true).hasSuffix("…"))
    }

    func testANewImageClearsTheStepAndCountsAsAChange() {
        let p = ProgressState(now: 0)
        p.apply(.job(bytes: 0, images: 2))
        p.apply(.image(index: 1, name: "a"))
        p.apply(.step("unpacking layer 1/1 aa"))
        let g = p.generation
        p.apply(.image(index: 2, name: "b"))
        XCTAssertEqual(p.generation, g + 1)
        XCTAssertEqual(p.line(now: 1, width: 0, bar: true), "image 2/2 b")
    }

    func testUnknownTotalAndClock() {
        let p = ProgressState(now: 0)
        p.apply(.bytes(3 << 20))
        XCTAssertEqual(p.line(now: 2, width: 0, bar: true), "3.0 MiB  1.5 MiB/s")
        XCTAssertEqual(ProgressState.clock(75), "1:15")
        XCTAssertEqual(ProgressState.clock(3725), "1:02:05")
        XCTAssertEqual(ProgressState.clock(0.2), "0:01")
    }
}
