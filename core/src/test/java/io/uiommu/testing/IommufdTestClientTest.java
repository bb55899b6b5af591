package io.uiommu.testing;

import io.uiommu.iommufd.Errno;
import org.junit.jupiter.api.Test;

import static io.uiommu.testing.IommufdTestClient.BUFFER_SIZE;
import static io.uiommu.testing.IommufdTestClient.MAP_RW;
import static io.uiommu.uapi.UapiConstants.*;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The harness has teeth: structs round-trip through user memory and teardown catches leaked pins. */
class IommufdTestClientTest {
    @Test
    void struct_outputs_come_back_from_user_memory() {
        try (IommufdTestClient c = new IommufdTestClient()) {
            int ioas = c.ioasAlloc();
            Rc rc = c.ioasMap(ioas, c.buffer(), BUFFER_SIZE, 0, MAP_RW).ok();
            assertThat(rc.u64("iova")).isNotZero();
            assertThat(rc.cmd().u32("size")).isEqualTo(40);
            c.destroy(ioas).ok();
            c.destroy(ioas).fails(Errno.ENOENT);
        }
    }

    @Test
    void teardown_fails_while_pages_of_the_buffer_stay_pinned() {
        IommufdTestClient c = new IommufdTestClient();
        int ioas = c.ioasAlloc();
        c.mockDomain(ioas);
        c.mapFixed(ioas, c.buffer(), BUFFER_SIZE, MOCK_APERTURE_START).ok();
        c.checkRefs(c.buffer(), BUFFER_SIZE, 1).ok();
        // An open access fd keeps the iommufd context (and its pinned pages) alive past close(fd),
        // as the kernel's access object holds a reference on the context file.
        c.createAccess(ioas, 0);
        assertThatThrownBy(c::close).isInstanceOf(AssertionError.class).hasMessageContaining("EIO");
    }

    @Test
    void teardown_passes_once_everything_is_released() {
        IommufdTestClient c = new IommufdTestClient();
        int ioas = c.ioasAlloc();
        c.mockDomain(ioas);
        c.mapFixed(ioas, c.buffer(), BUFFER_SIZE, MOCK_APERTURE_START).ok();
        int access = c.createAccess(ioas, 0);
        assertThat(c.destroyAccess(access)).isZero();
        c.close();
    }
}
