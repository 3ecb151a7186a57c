package io.waterdrop;

/** Base class of the exceptions WaterDrop throws. */
public class WaterDropException extends RuntimeException {

	private static final long serialVersionUID = 1L;

	public WaterDropException(String message) {
		super(message);
	}

	public WaterDropException(String message, Throwable cause) {
		super(message, cause);
	}

}
