package io.uiommu.iommu;

/**
 * Response codes of a page request group (enum iommu_page_response_code). SUCCESS tells the device
 * to retry the translation, INVALID that the address cannot be made valid, FAILURE that page
 * request handling itself failed (the device should stop issuing requests).
 */
public final class PageResponse {
    public static final int SUCCESS = 0;
    public static final int INVALID = 1;
    public static final int FAILURE = 2;

    private PageResponse() {
    }

    public static String name(int code) {
        return switch (code) {
            case SUCCESS -> "SUCCESS";
            case INVALID -> "INVALID";
            case FAILURE -> "FAILURE";
            default -> "code " + code;
        };
    }
}
